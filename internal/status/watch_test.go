package status

import (
	"context"
	"testing"
	"time"
)

func TestWatchRecordsTransitions(t *testing.T) {
	t.Parallel()
	fs := threeNodes()
	fs.setState("eth", "b", StateUnknown) // not verified yet: says nothing
	hist := &MemoryHistory{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); Watch(ctx, fs.source, hist, 5*time.Millisecond, nil, nil) }()

	waitFor(t, "a and c first seen up", func() bool { return len(events(t, hist)) == 2 })
	fs.setState("eth", "c", StateEjected)
	waitFor(t, "c down", func() bool { return len(events(t, hist)) == 3 })
	fs.setState("eth", "c", StateLagging) // alive again, catching up
	fs.setState("eth", "b", StateOK)
	waitFor(t, "c up and b first seen", func() bool { return len(events(t, hist)) == 5 })
	cancel()
	<-done

	evs := events(t, hist)
	got := map[string][]bool{}
	for _, e := range evs {
		got[e.Node] = append(got[e.Node], e.Up)
	}
	if len(got["a"]) != 1 || len(got["b"]) != 1 || len(got["c"]) != 3 || got["c"][1] || !got["c"][2] {
		t.Fatalf("events = %+v", evs)
	}
	inc := incidents(evs, 20)
	if len(inc) != 2 || inc[0].Node != "c" || inc[0].Kind != "up" || inc[1].Kind != "down" || inc[1].Reason != StateEjected {
		t.Fatalf("incidents = %+v", inc)
	}
}

func events(t *testing.T, h *MemoryHistory) []Event {
	t.Helper()
	evs, err := h.Events(context.Background(), "eth", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
