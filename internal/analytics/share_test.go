package analytics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rpcgate/rpcgate/internal/redistest"
	"github.com/rpcgate/rpcgate/internal/relay"
)

// TestRedisSharesReplicaSnapshots: two replicas, each with part of the
// scripted mix, on one real Redis: either one's report, merged with the
// other's published snapshot, ranks like one recorder with all of it.
func TestRedisSharesReplicaSnapshots(t *testing.T) {
	t.Parallel()
	addr, prefix := redistest.Shared(t)
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	now := time.Now()
	clock := func() time.Time { return now }
	r1, r2 := New(nil, clock), New(nil, clock)
	for i := range 50 {
		r1.Offer(record(now.Add(-time.Duration(i)*time.Second), "A", "eth_call", 2*time.Millisecond, relay.OutcomeOK, 200))
	}
	for i := range 10 {
		r2.Offer(record(now.Add(-time.Duration(i)*time.Second), "B", "eth_getLogs", 800*time.Millisecond, relay.OutcomeOK, 200))
		r2.Offer(record(now.Add(-time.Duration(i)*time.Second), "C", "eth_getBalance", time.Millisecond, relay.OutcomeFailed, 503))
	}
	s1, s2 := NewRedis(client, prefix, r1, nil), NewRedis(client, prefix, r2, nil)
	ctx := context.Background()
	if err := s2.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	h := &Handler{Rec: r1, Peers: s1.Peers}
	rep, err := h.Report(ctx, "15m")
	if err != nil {
		t.Fatal(err)
	}
	checkRanking(t, rep)
	// Its own snapshot is not counted twice.
	if err := s1.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	rep, _ = h.Report(ctx, "15m")
	if rep.Keys.ByCalls[0].Calls != 50 {
		t.Fatalf("A has %d calls after publishing its own snapshot, want 50", rep.Keys.ByCalls[0].Calls)
	}
}

// FuzzAnalyticsQuery: any query string gets 200 or 400, never a panic or
// another status.
func FuzzAnalyticsQuery(f *testing.F) {
	for _, s := range []string{"window=15m", "window=1h&format=json", "window=24h&format=html", "window=5m", "format=xml", "window=%zz", ""} {
		f.Add(s)
	}
	rec := New(nil, nil)
	rec.Offer(record(time.Now(), "A", "eth_call", time.Millisecond, relay.OutcomeOK, 200))
	h := &Handler{Rec: rec}
	f.Fuzz(func(t *testing.T, q string) {
		u := &url.URL{Path: PagePath, RawQuery: q}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL = u
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("query %q: HTTP %d", q, w.Code)
		}
	})
}
