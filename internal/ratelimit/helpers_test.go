package ratelimit

import (
	"sync"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/redistest"

	"github.com/redis/go-redis/v9"
)

// needRedis fails the test (never skips) when the shared Redis is not there.
func needRedis(t testing.TB) string { return redistest.Need(t) }

// newClient returns a client for addr closed when the test ends.
func newClient(t testing.TB, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// randomPrefix returns a prefix unique to this run of the test whose keys
// are deleted when the test ends.
func randomPrefix(t testing.TB, addr string) string { return redistest.Prefix(t, addr) }

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

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
