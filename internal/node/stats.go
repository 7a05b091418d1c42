package node

import (
	"math"
	"sync/atomic"
	"time"
)

// stats keeps recent latency and error figures for one node: a histogram
// of response times and request/error counts whose weights halve every
// decayEvery, so they describe roughly the last few minutes. Updates are
// single atomic adds; readers tolerate the approximations that brings.
type stats struct {
	buckets  [len(bucketBounds) + 1]atomic.Uint64
	reqs     atomic.Uint64
	errs     atomic.Uint64
	count    atomic.Uint64 // cumulative, for Prometheus
	sumNs    atomic.Uint64 // cumulative, for Prometheus
	lastHalf atomic.Int64  // unix ns of the last decay
}

const decayEvery = time.Minute

// bucketBounds are upper bounds growing by 1.5× from 100 µs to ~60 s.
var bucketBounds = func() [34]time.Duration {
	var b [34]time.Duration
	v := float64(100 * time.Microsecond)
	for i := range b {
		b[i] = time.Duration(v)
		v *= 1.5
	}
	return b
}()

func (s *stats) observe(d time.Duration, failed bool) {
	s.reqs.Add(1)
	if failed {
		s.errs.Add(1)
		return
	}
	i := 0
	for i < len(bucketBounds) && d > bucketBounds[i] {
		i++
	}
	s.buckets[i].Add(1)
	s.count.Add(1)
	s.sumNs.Add(uint64(d))
}

// decay halves the recent figures once per decayEvery; the checker calls
// it on every tick.
func (s *stats) decay(now time.Time) {
	last := s.lastHalf.Load()
	if last == 0 {
		s.lastHalf.CompareAndSwap(0, now.UnixNano())
		return
	}
	if now.UnixNano()-last < int64(decayEvery) || !s.lastHalf.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	halve := func(a *atomic.Uint64) {
		for {
			v := a.Load()
			if a.CompareAndSwap(v, v/2) {
				return
			}
		}
	}
	for i := range s.buckets {
		halve(&s.buckets[i])
	}
	halve(&s.reqs)
	halve(&s.errs)
}

// quantile returns the latency at q (0..1) from the recent histogram, or 0
// with no data. It interpolates within a bucket.
func (s *stats) quantile(q float64) time.Duration {
	var counts [len(bucketBounds) + 1]uint64
	var total uint64
	for i := range s.buckets {
		counts[i] = s.buckets[i].Load()
		total += counts[i]
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen float64
	for i, c := range counts {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			lo := time.Duration(0)
			if i > 0 {
				lo = bucketBounds[i-1]
			}
			hi := lo * 3 / 2
			if i < len(bucketBounds) {
				hi = bucketBounds[i]
			}
			frac := (rank - seen) / float64(c)
			return lo + time.Duration(math.Round(frac*float64(hi-lo)))
		}
		seen += float64(c)
	}
	return bucketBounds[len(bucketBounds)-1]
}

func (s *stats) errorRate() float64 {
	r := s.reqs.Load()
	if r == 0 {
		return 0
	}
	return math.Min(1, float64(s.errs.Load())/float64(r))
}

// LatencyQuantile is the node's recent response time at q (e.g. 0.5, 0.99).
func (n *Node) LatencyQuantile(q float64) time.Duration { return n.stats.quantile(q) }

// ErrorRate is the share of recent calls to the node that failed.
func (n *Node) ErrorRate() float64 { return n.stats.errorRate() }

// LatencyTotals are the cumulative count and sum of successful calls'
// response times (for a Prometheus summary).
func (n *Node) LatencyTotals() (count uint64, sum time.Duration) {
	return n.stats.count.Load(), time.Duration(n.stats.sumNs.Load())
}
