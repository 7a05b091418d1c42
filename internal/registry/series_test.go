package registry

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// exerciseSeries feeds 120 days of hourly samples (one day down) and two
// days of 1-minute latency samples to s and checks the buckets stay within
// SeriesDays and RecentWindow/RecentStep, and that the outage day reads 0 %.
func exerciseSeries(t *testing.T, s Series, now time.Time) {
	t.Helper()
	ctx := context.Background()
	outage := now.AddDate(0, 0, -3).Format(time.DateOnly)
	for h := 120 * 24; h >= 25; h-- {
		at := now.Add(-time.Duration(h) * time.Hour)
		up := at.Format(time.DateOnly) != outage
		if err := s.RecordSample(ctx, Sample{Chain: "eth", Node: "a", At: at, Span: time.Hour, Up: up}); err != nil {
			t.Fatal(err)
		}
	}
	for m := 48 * 60; m >= 0; m -= 10 {
		at := now.Add(-time.Duration(m) * time.Minute)
		if err := s.RecordSample(ctx, Sample{Chain: "eth", Node: "a", At: at, Up: true, P50: 10 * time.Millisecond, P99: 40 * time.Millisecond, ErrorRate: 0.25}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Series(ctx, "eth")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Node != "a" {
		t.Fatalf("series = %+v, want node a only", got)
	}
	ns := got[0]
	if len(ns.Days) > SeriesDays || len(ns.Days) < SeriesDays-1 {
		t.Fatalf("%d day buckets, want %d (bounded)", len(ns.Days), SeriesDays)
	}
	if max := int(RecentWindow / RecentStep); len(ns.Recent) > max || len(ns.Recent) == 0 {
		t.Fatalf("%d recent buckets, want 1..%d", len(ns.Recent), max)
	}
	found := false
	for _, d := range ns.Days {
		if d.Day == outage {
			found = true
			if d.UpSec != 0 || d.ObservedSec == 0 {
				t.Fatalf("outage day %+v: want observed time and no up time", d)
			}
		}
	}
	if !found {
		t.Fatalf("outage day %s missing from %+v", outage, ns.Days)
	}
	last := ns.Recent[len(ns.Recent)-1]
	if last.P99Ms != 40 || last.P50Ms != 10 || last.ErrorRate != 0.25 {
		t.Fatalf("latest bucket %+v, want p50 10, p99 40, error rate 0.25", last)
	}
}

func TestSeriesMemoryBounded(t *testing.T) {
	t.Parallel()
	s := NewMemory().(*fileStore)
	exerciseSeries(t, s, time.Now().UTC())
	// MaxSeriesNodes caps the nodes per chain.
	for i := range MaxSeriesNodes + 50 {
		_ = s.RecordSample(context.Background(), Sample{Chain: "x", Node: fmt.Sprint("n", i), Span: time.Minute, Up: true})
	}
	got, _ := s.Series(context.Background(), "x")
	if len(got) != MaxSeriesNodes {
		t.Fatalf("%d nodes kept, want the cap %d", len(got), MaxSeriesNodes)
	}
	if err := s.RecordSample(context.Background(), Sample{Node: "a"}); err != ErrInvalidSample {
		t.Fatalf("sample without chain: %v, want ErrInvalidSample", err)
	}
}

func TestSeriesFileSurvivesReopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.json")
	s, err := openFile(Config{File: path, Retention: DefaultRetention}, testLogger(t), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	exerciseSeries(t, s, time.Now().UTC())
	s.Close()
	s2, err := openFile(Config{File: path, Retention: DefaultRetention}, testLogger(t), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s2.Series(context.Background(), "eth")
	if len(got) != 1 || len(got[0].Days) < SeriesDays-1 {
		t.Fatalf("after reopen: %+v", got)
	}
}

func TestSeriesRedisBounded(t *testing.T) {
	t.Parallel()
	addr := needRedis(t)
	prefix := randomPrefix(t)
	s := openRedisStore(t, addr, prefix)
	exerciseSeries(t, s.(Series), time.Now().UTC())
}
