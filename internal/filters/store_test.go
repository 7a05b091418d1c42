package filters

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// A filter lives five minutes after its last poll (Put), as in geth.
func TestMemoryExpiry(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Unix(1700000000, 0)}
	m := NewMemory(clk.now)
	ctx := context.Background()
	f := &Filter{ID: NewID(), Chain: "eth", Kind: KindLogs, Owner: "ip:1.2.3.4"}
	_ = m.Put(ctx, f)
	clk.add(4 * time.Minute)
	if got, _ := m.Get(ctx, f.ID); got == nil {
		t.Fatal("filter gone after 4 minutes")
	}
	_ = m.Put(ctx, f) // a poll refreshes it
	clk.add(4 * time.Minute)
	if got, _ := m.Get(ctx, f.ID); got == nil {
		t.Fatal("filter gone 4 minutes after a poll")
	}
	clk.add(2 * time.Minute)
	if got, _ := m.Get(ctx, f.ID); got != nil {
		t.Fatal("filter alive 6 minutes after its last poll")
	}
	if ok, _ := m.Delete(ctx, f.ID); ok {
		t.Fatal("expired filter reported as uninstalled")
	}
}

func TestNewIDFormat(t *testing.T) {
	t.Parallel()
	a, b := NewID(), NewID()
	if len(a) != 34 || !strings.HasPrefix(a, "0x") || a == b {
		t.Fatalf("ids %q %q: want 0x + 32 hex digits, distinct", a, b)
	}
	if _, err := hex.DecodeString(a[2:]); err != nil {
		t.Fatal(err)
	}
}

// The Redis store shares filters and expires them with a TTL that every
// Put refreshes (real Redis on 127.0.0.1:6379).
func TestRedisStore(t *testing.T) {
	t.Parallel()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	r, err := NewRedis("redis://127.0.0.1:6379/0", "rpcgate-test-"+hex.EncodeToString(b)+":")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	if err := r.c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis not reachable at 127.0.0.1:6379: %v", err)
	}
	f := &Filter{ID: NewID(), Chain: "eth", Kind: KindBlocks, Number: 7, Hash: "0xabc"}
	if err := r.Put(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, err := r.Get(ctx, f.ID)
	if err != nil || got == nil || got.Number != 7 || got.Hash != "0xabc" || got.Kind != KindBlocks {
		t.Fatalf("get: %+v %v", got, err)
	}
	ttl := r.c.TTL(ctx, r.prefix+f.ID).Val()
	if ttl <= 4*time.Minute || ttl > Expiry {
		t.Fatalf("TTL %v, want about %v", ttl, Expiry)
	}
	if ok, _ := r.Delete(ctx, f.ID); !ok {
		t.Fatal("delete reported nothing deleted")
	}
	if got, _ := r.Get(ctx, f.ID); got != nil {
		t.Fatal("filter still there after delete")
	}
}
