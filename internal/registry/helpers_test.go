package registry

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/redistest"
)

// needRedis fails the test (never skips) when the shared Redis is not there.
func needRedis(t *testing.T) string { return redistest.Need(t) }

// testLogger writes the store's logs into the test's output (shown with -v
// or on failure), debug level included.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func randomPrefix(t *testing.T) string { return redistest.NewPrefix(t) }

// openRedisStore opens a store on addr under prefix and deletes the
// prefix's keys when the test ends.
func openRedisStore(t *testing.T, addr, prefix string) Store {
	t.Helper()
	s, err := Open(context.Background(), Config{Redis: "redis://" + addr, Prefix: prefix}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func cleanupPrefix(t *testing.T, addr, prefix string) { redistest.Cleanup(t, addr, prefix) }

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// watcher runs Store.Watch and records every set it delivers.
type watcher struct {
	mu   sync.Mutex
	sets [][]Entry
}

func startWatch(t *testing.T, s Store) *watcher {
	w := &watcher{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Watch(ctx, func(set []Entry) {
			w.mu.Lock()
			w.sets = append(w.sets, set)
			w.mu.Unlock()
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

func (w *watcher) all() [][]Entry {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.sets)
}

func (w *watcher) last() ([]Entry, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.sets) == 0 {
		return nil, false
	}
	return w.sets[len(w.sets)-1], true
}

func names(set []Entry) []string {
	var out []string
	for _, e := range set {
		out = append(out, e.Chain+"/"+e.Name)
	}
	return out
}
