package status

import (
	"context"
	"testing"
	"time"
)

func TestMemoryHistoryBoundedAndFiltered(t *testing.T) {
	t.Parallel()
	m := &MemoryHistory{Max: 3}
	ctx := context.Background()
	for i, up := range []bool{true, false, true, false} { // the first is dropped (Max 3)
		m.Record(ctx, Event{Chain: "eth", Node: "a", Up: up, At: t0.Add(time.Duration(i) * time.Hour)})
	}
	evs, err := m.Events(ctx, "eth", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].Up || !evs[0].At.Equal(t0.Add(time.Hour)) {
		t.Fatalf("all events = %+v, want hours 1-3", evs)
	}
	evs, _ = m.Events(ctx, "eth", t0.Add(150*time.Minute))
	if len(evs) != 1 || !evs[0].At.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("events since 2.5h = %+v, want hour 3 only", evs)
	}
	if evs, _ := m.Events(ctx, "other", time.Time{}); len(evs) != 0 {
		t.Fatalf("other chain: %+v", evs)
	}
}
