package registry

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// Series keeps the status page's pictures: per node, one uptime bucket per
// UTC day for SeriesDays days and one latency/error bucket per RecentStep
// for RecentWindow. Size is bounded: at most SeriesDays+RecentWindow/RecentStep
// buckets per node and MaxSeriesNodes nodes per chain.
type Series interface {
	// RecordSample adds one observation of a node to its buckets.
	RecordSample(ctx context.Context, s Sample) error
	// RecordSamples adds several at once (the file store writes once).
	// Invalid samples are skipped; the first error is returned.
	RecordSamples(ctx context.Context, ss []Sample) error
	// Series returns every node's buckets for chain, sorted by node name,
	// buckets oldest first, trimmed to the retained windows.
	Series(ctx context.Context, chain string) ([]NodeSeries, error)
}

// Bounds of the series history.
const (
	SeriesDays     = 90
	RecentWindow   = 24 * time.Hour
	RecentStep     = 5 * time.Minute
	MaxSeriesNodes = 256
)

// Sample is one periodic observation of a node. Span is the time it stands
// for (the sampling interval): it is added to the day's observed time, and
// to its up time when Up.
type Sample struct {
	Chain, Node string
	At          time.Time
	Span        time.Duration
	Up          bool
	// P50 and P99 are the node's recent latency quantiles; zero is unknown
	// and leaves the latency bucket's figures alone.
	P50, P99  time.Duration
	ErrorRate float64 // 0..1
}

// DayBucket is one UTC day of a node's uptime.
type DayBucket struct {
	Day         string  `json:"day"` // 2006-01-02
	UpSec       float64 `json:"up_s"`
	ObservedSec float64 `json:"observed_s"`
}

// RecentBucket is one RecentStep of a node's latency and error rate:
// P50 is the mean of the samples' p50, P99 the highest p99 seen, ErrorRate
// the mean error rate.
type RecentBucket struct {
	Start     time.Time `json:"start"`
	P50Ms     float64   `json:"p50_ms"`
	P99Ms     float64   `json:"p99_ms"`
	ErrorRate float64   `json:"error_rate"`
	N         int       `json:"n"`  // samples
	NLat      int       `json:"nl"` // samples with a latency
}

// NodeSeries is one node's buckets.
type NodeSeries struct {
	Node   string         `json:"node"`
	Days   []DayBucket    `json:"days"`
	Recent []RecentBucket `json:"recent"`
}

// ErrInvalidSample is returned for a sample without chain or node, or with
// a negative span.
var ErrInvalidSample = errors.New("registry: sample needs a chain, a node and a non-negative span")

func checkSample(s *Sample, now time.Time) error {
	if s.Chain == "" || s.Node == "" || s.Span < 0 {
		return ErrInvalidSample
	}
	if s.At.IsZero() {
		s.At = now
	}
	s.At = s.At.UTC()
	if s.ErrorRate < 0 {
		s.ErrorRate = 0
	}
	if s.ErrorRate > 1 {
		s.ErrorRate = 1
	}
	return nil
}

// Add folds s into ns and trims ns to the windows ending at now.
func (ns *NodeSeries) Add(s Sample, now time.Time) {
	day := s.At.Format(time.DateOnly)
	i := slices.IndexFunc(ns.Days, func(d DayBucket) bool { return d.Day == day })
	if i < 0 {
		ns.Days = append(ns.Days, DayBucket{Day: day})
		i = len(ns.Days) - 1
	}
	ns.Days[i].ObservedSec += s.Span.Seconds()
	if s.Up {
		ns.Days[i].UpSec += s.Span.Seconds()
	}
	start := s.At.Truncate(RecentStep)
	j := slices.IndexFunc(ns.Recent, func(b RecentBucket) bool { return b.Start.Equal(start) })
	if j < 0 {
		ns.Recent = append(ns.Recent, RecentBucket{Start: start})
		j = len(ns.Recent) - 1
	}
	b := &ns.Recent[j]
	b.ErrorRate = (b.ErrorRate*float64(b.N) + s.ErrorRate) / float64(b.N+1)
	b.N++
	if s.P50 > 0 || s.P99 > 0 {
		p50 := float64(s.P50) / float64(time.Millisecond)
		b.P50Ms = (b.P50Ms*float64(b.NLat) + p50) / float64(b.NLat+1)
		b.P99Ms = max(b.P99Ms, float64(s.P99)/float64(time.Millisecond))
		b.NLat++
	}
	ns.Trim(now)
}

// Trim sorts the buckets and drops those outside the windows ending at now.
func (ns *NodeSeries) Trim(now time.Time) {
	slices.SortFunc(ns.Days, func(a, b DayBucket) int { return strings.Compare(a.Day, b.Day) })
	first := now.UTC().AddDate(0, 0, -(SeriesDays - 1)).Format(time.DateOnly)
	ns.Days = slices.DeleteFunc(ns.Days, func(d DayBucket) bool { return d.Day < first })
	if len(ns.Days) > SeriesDays {
		ns.Days = ns.Days[len(ns.Days)-SeriesDays:]
	}
	slices.SortFunc(ns.Recent, func(a, b RecentBucket) int { return a.Start.Compare(b.Start) })
	cut := now.Add(-RecentWindow).Truncate(RecentStep)
	ns.Recent = slices.DeleteFunc(ns.Recent, func(b RecentBucket) bool { return !b.Start.After(cut) })
	if n := int(RecentWindow / RecentStep); len(ns.Recent) > n {
		ns.Recent = ns.Recent[len(ns.Recent)-n:]
	}
}

// cloneSeries deep-copies ns.
func cloneSeries(ns NodeSeries) NodeSeries {
	ns.Days = slices.Clone(ns.Days)
	ns.Recent = slices.Clone(ns.Recent)
	return ns
}
