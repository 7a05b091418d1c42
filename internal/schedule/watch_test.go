package schedule

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// watchedCtx stands in for a server's request context that only learns of
// a disconnect when asked to watch.
type watchedCtx struct {
	context.Context
	cancel          context.CancelFunc
	watches, stops  atomic.Int32
	disconnectAfter chan struct{}
}

func (c *watchedCtx) Value(key any) any {
	if key == ClientWatcherKey {
		return c
	}
	return c.Context.Value(key)
}

func (c *watchedCtx) WatchClient() func() {
	c.watches.Add(1)
	go func() {
		<-c.disconnectAfter
		c.cancel()
	}()
	return func() { c.stops.Add(1) }
}

// Only a request that waits is watched, and its watch ends with the wait;
// a disconnect seen by the watch takes it out of the queue.
func TestWaitWatchesClient(t *testing.T) {
	s := NewSlots(1, testPolicy(newManualClock()))

	free := &watchedCtx{disconnectAfter: make(chan struct{})}
	free.Context, free.cancel = context.WithCancel(context.Background())
	defer free.cancel()
	if err := s.Acquire(free, Low, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n := free.watches.Load(); n != 0 {
		t.Fatalf("a request granted at once was watched %d times", n)
	}

	queued := &watchedCtx{disconnectAfter: make(chan struct{})}
	queued.Context, queued.cancel = context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() { got <- s.Acquire(queued, High, time.Time{}) }()
	waitFor(t, "queued", func() bool { return s.Waiting(High) == 1 })
	close(queued.disconnectAfter)
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if w, st := queued.watches.Load(), queued.stops.Load(); w != 1 || st != 1 {
		t.Fatalf("watches %d, stops %d; want 1 and 1", w, st)
	}
	if s.Waiting(High) != 0 || s.Stats().Classes[High].Canceled != 1 {
		t.Fatalf("stats after the disconnect: %+v", s.Stats())
	}
}
