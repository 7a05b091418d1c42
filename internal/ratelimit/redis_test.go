package ratelimit

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/redistest"

	"github.com/redis/go-redis/v9"
)

func TestRedisBurstCostAndTTL(t *testing.T) {
	t.Parallel()
	addr := needRedis(t)
	prefix := randomPrefix(t, addr)
	c := newClient(t, addr)
	l := NewRedis(c, prefix, FailClosed, nil)
	ctx := context.Background()
	r := Rate{PerSecond: 1, Burst: 5} // 1 unit/s: the test's own duration refills ~nothing

	d, err := l.Allow(ctx, "k", 3, r)
	if err != nil || !d.Allowed || d.Limit != LimitRate || d.Remaining < 2 || d.Remaining > 2.1 {
		t.Fatalf("cost 3 = %+v, %v; want allowed with ~2 remaining", d, err)
	}
	if d, _ := l.Allow(ctx, "k", 2, r); !d.Allowed {
		t.Fatalf("cost 2 = %+v, want allowed", d)
	}
	d, err = l.Allow(ctx, "k", 2, r)
	if err != nil || d.Allowed || d.RetryAfter <= time.Second || d.RetryAfter > 2*time.Second {
		t.Fatalf("cost 2 on an empty bucket = %+v, %v; want refused, RetryAfter in (1s, 2s]", d, err)
	}
	// Spent 5 units at 1/s: the key lives until the bucket is full, 5 s.
	pttl, err := c.PTTL(ctx, prefix+"rate:k").Result()
	if err != nil || pttl <= 4*time.Second || pttl > 5*time.Second {
		t.Fatalf("PTTL = %v, %v; want in (4s, 5s]", pttl, err)
	}
	// Cost 0 spends nothing.
	if d, _ := l.Allow(ctx, "fresh", 0, r); !d.Allowed || d.Remaining != 5 {
		t.Fatalf("cost 0 = %+v", d)
	}
	if n, _ := c.Exists(ctx, prefix+"rate:fresh").Result(); n != 0 {
		t.Fatal("cost 0 on a full bucket stored a key")
	}
}

// TestRedisReplicasEnforceOneLimit is the acceptance check that replicas
// sharing Redis enforce one limit: two limiters on separate connections
// hammer one key for 3 s of real time, and what they admit together after
// the initial burst must be the rate (50/s ± 10%).
func TestRedisReplicasEnforceOneLimit(t *testing.T) {
	t.Parallel()
	addr := needRedis(t)
	prefix := randomPrefix(t, addr)
	replicas := []*Redis{
		NewRedis(newClient(t, addr), prefix, FailClosed, nil),
		NewRedis(newClient(t, addr), prefix, FailClosed, nil),
	}
	r := Rate{PerSecond: 50, Burst: 50}
	const window = 3 * time.Second

	var (
		mu       sync.Mutex
		admitted []time.Time
		denied   int
		badRetry []time.Duration
		errs     []error
	)
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for _, l := range replicas {
		for range 4 {
			wg.Go(func() {
				for time.Since(start) < window {
					d, err := l.Allow(ctx, "shared", 1, r)
					at := time.Now()
					mu.Lock()
					switch {
					case err != nil:
						errs = append(errs, err)
					case d.Allowed:
						admitted = append(admitted, at)
					default:
						denied++
						// One unit at 50/s refills in 20 ms.
						if d.RetryAfter <= 0 || d.RetryAfter > 20*time.Millisecond {
							badRetry = append(badRetry, d.RetryAfter)
						}
					}
					mu.Unlock()
					if err != nil {
						return
					}
				}
			})
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d errors, first: %v", len(errs), errs[0])
	}
	if len(badRetry) > 0 {
		t.Fatalf("%d refusals with RetryAfter outside (0, 20ms], e.g. %v", len(badRetry), badRetry[0])
	}
	slices.SortFunc(admitted, func(a, b time.Time) int { return a.Compare(b) })
	if len(admitted) <= r.Burst {
		t.Fatalf("admitted %d, want more than the burst", len(admitted))
	}
	// The burst goes at once; after it, units come at the rate, counted
	// from the first admission to the last.
	span := admitted[len(admitted)-1].Sub(admitted[0]).Seconds()
	steady := float64(len(admitted) - r.Burst)
	rate := steady / span
	t.Logf("admitted %d (burst %d + %.0f over %.2fs = %.2f/s), denied %d", len(admitted), r.Burst, steady, span, rate, denied)
	if span < 2.5 {
		t.Fatalf("admissions spanned only %.2fs of the %v window", span, window)
	}
	if rate < 45 || rate > 55 {
		t.Fatalf("steady rate %.2f/s across replicas, want 50 ± 10%%", rate)
	}
	if denied == 0 {
		t.Fatal("nothing was denied: the load never reached the limit")
	}
}

func TestRedisFailureModes(t *testing.T) {
	t.Parallel()
	rs := redistest.StartServer(t)
	c := redis.NewClient(&redis.Options{Addr: rs.Addr(), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	r := Rate{PerSecond: 1, Burst: 3}
	open := NewRedis(c, "t:", FailOpen, nil)
	closed := NewRedis(c, "t:", FailClosed, nil)
	fallback := NewRedis(c, "t:", FailOpen, NewLocal(nil))

	// Scripts not yet loaded (and flushed again below): EVALSHA falls back to EVAL.
	if d, err := closed.Allow(ctx, "k", 1, r); err != nil || !d.Allowed {
		t.Fatalf("before the outage = %+v, %v", d, err)
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if d, err := open.Allow(ctx, "k", 1, r); err != nil || !d.Allowed {
		t.Fatalf("after SCRIPT FLUSH = %+v, %v", d, err)
	}

	rs.Kill()

	d, err := open.Allow(ctx, "k", 1, r)
	if !errors.Is(err, ErrRedisDown) || !d.Allowed || d.Limit != "" {
		t.Fatalf("FailOpen while down = %+v, %v; want allowed, Limit \"\", ErrRedisDown", d, err)
	}
	d, err = closed.Allow(ctx, "k", 1, r)
	if !errors.Is(err, ErrRedisDown) || d.Allowed || d.RetryAfter <= 0 {
		t.Fatalf("FailClosed while down = %+v, %v; want refused with RetryAfter, ErrRedisDown", d, err)
	}
	// Within the hold-off the answer comes without asking Redis, same modes.
	if d, err := closed.Allow(ctx, "k", 1, r); !errors.Is(err, errRedisSkipped) || d.Allowed {
		t.Fatalf("FailClosed in hold-off = %+v, %v", d, err)
	}
	// Failing open with a local fallback still limits, per replica.
	n := 0
	for range 10 {
		d, err := fallback.Allow(ctx, "k", 1, r)
		if !errors.Is(err, ErrRedisDown) {
			t.Fatalf("fallback while down: err = %v, want ErrRedisDown", err)
		}
		if d.Allowed {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("local fallback admitted %d of 10, want the burst, 3", n)
	}
	// A caller's own cancelled context is not an outage.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := NewRedis(c, "t:", FailOpen, nil).Allow(cctx, "k", 1, r); errors.Is(err, ErrRedisDown) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: err = %v, want context.Canceled, not ErrRedisDown", err)
	}

	rs.Start() // empty Redis on the same port: no scripts, no keys
	eventually(t, "limiter using Redis again", func() bool {
		d, err := closed.Allow(ctx, "again", 1, r)
		return err == nil && d.Allowed
	})
}

func TestRedisQuotasFailureModes(t *testing.T) {
	t.Parallel()
	rs := redistest.StartServer(t)
	c := redis.NewClient(&redis.Options{Addr: rs.Addr(), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	now := time.Now()
	open := NewRedisQuotas(c, "t:", FailOpen)
	closed := NewRedisQuotas(c, "t:", FailClosed)
	if d, err := closed.Spend(ctx, "k", 1, 10, 100, now); err != nil || !d.Allowed {
		t.Fatalf("before the outage = %+v, %v", d, err)
	}
	rs.Kill()
	if d, err := open.Spend(ctx, "k", 1, 10, 100, now); !errors.Is(err, ErrRedisDown) || !d.Allowed || d.Limit != "" {
		t.Fatalf("FailOpen while down = %+v, %v", d, err)
	}
	if d, err := closed.Spend(ctx, "k", 1, 10, 100, now); !errors.Is(err, ErrRedisDown) || d.Allowed {
		t.Fatalf("FailClosed while down = %+v, %v", d, err)
	}
	rs.Start()
	eventually(t, "quotas using Redis again", func() bool {
		d, err := closed.Spend(ctx, "k", 1, 10, 100, now)
		return err == nil && d.Allowed
	})
}
