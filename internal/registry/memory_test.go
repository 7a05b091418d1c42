package registry

import (
	"context"
	"testing"
	"time"
)

// The memory store is the file store without a file: changes apply and
// reach watchers, nothing is written.
func TestMemoryStore(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := NewMemory()
	defer s.Close()
	seen := make(chan []Entry, 64)
	go s.Watch(ctx, func(es []Entry) { seen <- es })
	// Put until the watcher (which may not be registered yet) reports it.
	deadline := time.After(10 * time.Second)
	for got := false; !got; {
		if err := s.Put(ctx, Entry{Chain: "eth", Name: "d", URL: "http://127.0.0.1:1"}); err != nil {
			t.Fatal(err)
		}
		select {
		case es := <-seen:
			if len(es) != 1 || es[0].Name != "d" {
				t.Fatalf("watch saw %+v", es)
			}
			got = true
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatal("watcher never saw the change")
		}
	}
	if err := s.Record(ctx, Event{Chain: "eth", Node: "d", Up: true}); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, "eth", time.Time{})
	if err != nil || len(evs) != 1 || !evs[0].Up {
		t.Fatalf("events %+v %v", evs, err)
	}
	if err := s.Delete(ctx, "eth", "d"); err != nil {
		t.Fatal(err)
	}
	if es, _ := s.Load(ctx); len(es) != 0 {
		t.Fatalf("after delete: %+v", es)
	}
}
