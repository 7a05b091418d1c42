package tenant

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testUsage checks counts per method and UTC day boundaries. flush is
// called before reading.
func testUsage(t *testing.T, u Usage) {
	ctx := context.Background()
	d1 := time.Date(2025, 1, 31, 23, 59, 59, 999e6, time.UTC)
	d2 := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	// 23:30 in New York on Feb 1 is 04:30 UTC on Feb 2.
	ny := time.FixedZone("EST", -5*3600)
	d3 := time.Date(2025, 2, 1, 23, 30, 0, 0, ny)

	for range 3 {
		u.Add(ctx, "key:alice", "eth_call", 2, d1)
	}
	u.Add(ctx, "key:alice", "eth_getLogs", 20, d1)
	u.Add(ctx, "key:alice", "eth_call", 2, d2)
	u.Add(ctx, "key:alice", "eth_blockNumber", 1, d3)
	u.Add(ctx, "key:bob", "eth_call", 2, d1) // another key, not in alice's report
	u.Add(ctx, "key:alice", "eth_call; DROP", 1, d2)
	if err := u.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := u.Get(ctx, "key:alice", d1, d3)
	if err != nil {
		t.Fatal(err)
	}
	want := UsageReport{Key: "key:alice", Days: []DayUsage{
		{Date: "2025-01-31", Requests: 4, ComputeUnits: 26, Methods: map[string]MethodUsage{
			"eth_call": {3, 6}, "eth_getLogs": {1, 20}}},
		{Date: "2025-02-01", Requests: 2, ComputeUnits: 3, Methods: map[string]MethodUsage{
			"eth_call": {1, 2}, OtherMethod: {1, 1}}},
		{Date: "2025-02-02", Requests: 1, ComputeUnits: 1, Methods: map[string]MethodUsage{
			"eth_blockNumber": {1, 1}}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Get =\n%+v\nwant\n%+v", got, want)
	}

	// Counts add up across flushes.
	u.Add(ctx, "key:alice", "eth_call", 2, d2)
	if err := u.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = u.Get(ctx, "key:alice", d2, d2)
	if err != nil {
		t.Fatal(err)
	}
	if m := got.Days[0].Methods["eth_call"]; len(got.Days) != 1 || m != (MethodUsage{2, 4}) {
		t.Fatalf("after a second flush: %+v, want eth_call 2 requests, 4 CU", got)
	}

	// A day without traffic is present and empty.
	empty, err := u.Get(ctx, "key:nobody", d1, d1)
	if err != nil || len(empty.Days) != 1 || empty.Days[0].Requests != 0 || empty.Days[0].Methods == nil {
		t.Fatalf("empty day: %+v, %v", empty, err)
	}
	if _, err := u.Get(ctx, "key:alice", d2, d1); !errors.Is(err, ErrUsageRange) {
		t.Fatalf("backwards range: %v, want ErrUsageRange", err)
	}
	if _, err := u.Get(ctx, "key:alice", d1, d1.AddDate(2, 0, 0)); !errors.Is(err, ErrUsageRange) {
		t.Fatalf("two-year range: %v, want ErrUsageRange", err)
	}

	// Distinct method names per key and day are bounded.
	for i := range maxMethodsPerDay + 50 {
		u.Add(ctx, "key:flood", fmt.Sprintf("m_%d", i), 1, d1)
	}
	if err := u.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	flood, err := u.Get(ctx, "key:flood", d1, d1)
	if err != nil {
		t.Fatal(err)
	}
	day := flood.Days[0]
	if len(day.Methods) != maxMethodsPerDay+1 || day.Methods[OtherMethod].Requests != 50 || day.Requests != maxMethodsPerDay+50 {
		t.Fatalf("flood: %d methods, other %+v, total %d", len(day.Methods), day.Methods[OtherMethod], day.Requests)
	}
}

func TestMemoryUsage(t *testing.T) {
	t.Parallel()
	u := NewMemoryUsage()
	defer u.Close()
	testUsage(t, u)
}

func TestRedisUsage(t *testing.T) {
	t.Parallel()
	c := needRedis(t)
	prefix := randomPrefix(t, c)
	u := NewRedisUsage(c, prefix, testLogger(t))
	defer u.Close()
	testUsage(t, u)

	// Layout and expiry of one day's hash.
	ctx := context.Background()
	key := prefix + "usage:key:alice:2025-01-31"
	fields, err := c.HGetAll(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if fields["eth_call:req"] != "3" || fields["eth_call:cu"] != "6" || fields["eth_getLogs:cu"] != "20" {
		t.Fatalf("HGETALL %s = %v", key, fields)
	}
	ttl, err := c.TTL(ctx, key).Result()
	if err != nil || ttl < UsageRetention-time.Minute || ttl > UsageRetention {
		t.Fatalf("TTL %s = %v, %v; want about 400 days", key, ttl, err)
	}
}

// Add only buffers: the background flusher (or Close) writes, and two
// replicas' counts add up.
func TestRedisUsageFlushesInBackground(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := needRedis(t)
	prefix := randomPrefix(t, c)
	a := NewRedisUsage(c, prefix, testLogger(t))
	b := NewRedisUsage(c, prefix, testLogger(t))
	defer a.Close()
	now := time.Now()
	a.Add(ctx, "key:x", "eth_call", 2, now)
	b.Add(ctx, "key:x", "eth_call", 2, now)
	eventually(t, "a's background flush", func() bool {
		rep, err := a.Get(ctx, "key:x", now, now)
		return err == nil && rep.Days[0].Requests >= 1
	})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both replicas' counts", func() bool {
		rep, err := a.Get(ctx, "key:x", now, now)
		return err == nil && rep.Days[0].Methods["eth_call"] == MethodUsage{2, 4}
	})
}

// A flush that fails keeps its counts for the next one.
func TestRedisUsageKeepsCountsWhenRedisFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := needRedis(t)
	prefix := randomPrefix(t, c)
	u := NewRedisUsage(c, prefix, testLogger(t)).(*redisUsage)
	defer u.Close()
	at := time.Date(2025, 5, 5, 12, 0, 0, 0, time.UTC)
	u.Add(ctx, "key:x", "eth_call", 2, at)
	dead, cancel := context.WithCancel(ctx)
	cancel()
	if err := u.Flush(dead); err == nil || !strings.Contains(err.Error(), "flushing usage") {
		t.Fatalf("flush with a dead context: %v, want an error", err)
	}
	u.Add(ctx, "key:x", "eth_call", 2, at)
	if err := u.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := u.Get(ctx, "key:x", at, at)
	if err != nil || rep.Days[0].Methods["eth_call"] != (MethodUsage{2, 4}) {
		t.Fatalf("after a failed then a good flush: %+v, %v; want 2 requests, 4 CU", rep, err)
	}
}
