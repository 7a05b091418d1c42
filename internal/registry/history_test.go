package registry

import (
	"context"
	"math"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// historyStores opens one store of each kind with the given retention.
func historyStores(t *testing.T, retention time.Duration) map[string]Store {
	addr := needRedis(t)
	prefix := randomPrefix(t)
	cleanupPrefix(t, addr, prefix)
	out := map[string]Store{}
	for kind, cfg := range map[string]Config{
		"file":  {File: filepath.Join(t.TempDir(), "state.json"), Retention: retention},
		"redis": {Redis: "redis://" + addr, Prefix: prefix, Retention: retention},
	} {
		s, err := Open(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		out[kind] = s
	}
	return out
}

func TestHistoryOrderAndSince(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	evs := []Event{
		{Chain: "eth", Node: "a", Up: true, At: base},
		{Chain: "eth", Node: "b", Up: true, At: base.Add(time.Second)},
		{Chain: "eth", Node: "a", Up: false, At: base.Add(2 * time.Second), Reason: "3 failures"},
		// An exact duplicate stays a separate event.
		{Chain: "eth", Node: "a", Up: false, At: base.Add(2 * time.Second), Reason: "3 failures"},
		{Chain: "eth", Node: "a", Up: true, At: base.Add(3*time.Second + 500*time.Microsecond)},
	}
	for kind, s := range historyStores(t, 0) {
		t.Run(kind, func(t *testing.T) {
			// Record out of order, plus another chain's event.
			for _, i := range []int{4, 0, 2, 1, 3} {
				if err := s.Record(ctx, evs[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Record(ctx, Event{Chain: "op", Node: "x", Up: true, At: base}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Events(ctx, "eth", time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, evs) {
				t.Fatalf("Events =\n%+v\nwant\n%+v", got, evs)
			}
			// since is inclusive and exact below the millisecond.
			got, _ = s.Events(ctx, "eth", base.Add(2*time.Second))
			if !reflect.DeepEqual(got, evs[2:]) {
				t.Fatalf("Events since +2s =\n%+v\nwant\n%+v", got, evs[2:])
			}
			got, _ = s.Events(ctx, "eth", base.Add(3*time.Second+time.Millisecond/4))
			if !reflect.DeepEqual(got, evs[4:]) {
				t.Fatalf("Events since +3.00025s =\n%+v\nwant\n%+v", got, evs[4:])
			}
			got, _ = s.Events(ctx, "eth", base.Add(3*time.Second+time.Millisecond))
			if len(got) != 0 {
				t.Fatalf("Events after the last = %+v; want none", got)
			}
		})
	}
}

func TestHistoryTrimmedToRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now().UTC()
	for kind, s := range historyStores(t, time.Hour) {
		t.Run(kind, func(t *testing.T) {
			old := Event{Chain: "eth", Node: "a", Up: true, At: now.Add(-2 * time.Hour)}
			recent := Event{Chain: "eth", Node: "a", Up: false, At: now.Add(-30 * time.Minute)}
			fresh := Event{Chain: "eth", Node: "a", Up: true} // At: now
			for _, ev := range []Event{old, recent, fresh} {
				if err := s.Record(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Events(ctx, "eth", time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0] != recent || !got[1].Up || got[1].At.Before(now) {
				t.Fatalf("Events = %+v; want the -30m event and the one stamped now, not the -2h one", got)
			}
		})
	}
}

func TestTrimEventsCap(t *testing.T) {
	t.Parallel()
	base := time.Now()
	var evs []Event
	for i := range MaxEventsPerChain + 5 {
		evs = append(evs, Event{Chain: "eth", Node: "a", At: base.Add(time.Duration(i) * time.Second)})
	}
	got := trimEvents(evs, base.Add(-time.Hour))
	if len(got) != MaxEventsPerChain || !got[0].At.Equal(base.Add(5*time.Second)) {
		t.Fatalf("trimEvents kept %d events from %v; want the newest %d", len(got), got[0].At, MaxEventsPerChain)
	}
	got = trimEvents(evs[:10], base.Add(3*time.Second))
	if len(got) != 7 || !got[0].At.Equal(base.Add(3*time.Second)) {
		t.Fatalf("trimEvents by cutoff kept %d events; want 7 from the cutoff on", len(got))
	}
}

func TestUptime(t *testing.T) {
	t.Parallel()
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(10 * time.Hour)
	at := func(h float64) time.Time { return from.Add(time.Duration(h * float64(time.Hour))) }
	up := func(node string, h float64) Event { return Event{Chain: "eth", Node: node, Up: true, At: at(h)} }
	down := func(node string, h float64) Event { return Event{Chain: "eth", Node: node, Up: false, At: at(h)} }

	for _, tc := range []struct {
		name     string
		events   []Event
		ratio    float64
		observed time.Duration
	}{
		{"all up since before the window", []Event{up("a", -1)}, 1, 10 * time.Hour},
		{"all up from the start", []Event{up("a", 0)}, 1, 10 * time.Hour},
		{"down half the window", []Event{up("a", -5), down("a", 2), up("a", 7)}, 0.5, 10 * time.Hour},
		{"event before window sets the state", []Event{down("a", -3), up("a", 5)}, 0.5, 10 * time.Hour},
		{"last event before window wins", []Event{up("a", -9), down("a", -1), up("a", 8)}, 0.2, 10 * time.Hour},
		{"unknown before first event is not observed", []Event{up("a", 6), down("a", 8)}, 0.5, 4 * time.Hour},
		{"no events", nil, 0, 0},
		{"other nodes ignored", []Event{up("b", -1), down("a", -1), up("b", 3)}, 0, 10 * time.Hour},
		{"events after the window ignored", []Event{up("a", -1), down("a", 11)}, 1, 10 * time.Hour},
		{"unsorted input", []Event{up("a", 7), down("a", 2), up("a", -5)}, 0.5, 10 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ratio, observed := Uptime(tc.events, "a", from, to)
			if math.Abs(ratio-tc.ratio) > 1e-9 || observed != tc.observed {
				t.Fatalf("Uptime = %v, %v; want %v, %v", ratio, observed, tc.ratio, tc.observed)
			}
		})
	}
}
