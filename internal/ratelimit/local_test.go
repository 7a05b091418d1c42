package ratelimit

import (
	"context"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// drain spends cost until refused and returns how many were allowed.
func drain(t *testing.T, l Limiter, key string, cost int, r Rate) (int, Decision) {
	t.Helper()
	for n := 0; ; n++ {
		d, err := l.Allow(context.Background(), key, cost, r)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed {
			return n, d
		}
		if n > 1e6 {
			t.Fatal("never refused")
		}
	}
}

func TestLocalBurstThenSteadyRate(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := NewLocal(clk.Now)
	r := Rate{PerSecond: 10, Burst: 5}

	n, _ := drain(t, l, "k", 1, r)
	if n != 5 {
		t.Fatalf("burst admitted %d, want 5", n)
	}
	// Over 10 s in 10 ms steps, spending whatever is there each step, the
	// bucket admits exactly the rate: one unit per 100 ms.
	total := 0
	for range 1000 {
		clk.Advance(10 * time.Millisecond)
		n, _ := drain(t, l, "k", 1, r)
		total += n
	}
	if total != 100 {
		t.Fatalf("steady 10 s admitted %d, want 100", total)
	}
	// Idle for a minute: the bucket refills to the burst, no further.
	clk.Advance(time.Minute)
	if n, _ := drain(t, l, "k", 1, r); n != 5 {
		t.Fatalf("after idling admitted %d, want burst 5", n)
	}
}

func TestLocalCostWeighting(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := NewLocal(clk.Now)
	r := Rate{PerSecond: 100, Burst: 100}
	ctx := context.Background()

	d, err := l.Allow(ctx, "k", 20, r)
	if err != nil || !d.Allowed || d.Remaining != 80 || d.Limit != LimitRate {
		t.Fatalf("first cost-20 spend = %+v, %v; want allowed, 80 remaining", d, err)
	}
	if n, d := drain(t, l, "k", 20, r); n != 4 || d.Remaining != 0 {
		t.Fatalf("admitted %d more cost-20 spends (remaining %v), want 4 (0)", n, d.Remaining)
	}
	// 20 units at 100/s take 200 ms.
	d, _ = l.Allow(ctx, "k", 20, r)
	if d.Allowed || d.RetryAfter != 200*time.Millisecond {
		t.Fatalf("refused spend = %+v, want RetryAfter 200ms", d)
	}
	clk.Advance(100 * time.Millisecond)
	d, _ = l.Allow(ctx, "k", 20, r)
	if d.Allowed || d.RetryAfter != 100*time.Millisecond || d.Remaining != 10 {
		t.Fatalf("after 100ms cost 20 = %+v, want refused, RetryAfter 100ms, 10 remaining", d)
	}
	// A refusal spends nothing: the 10 refilled units are all there.
	if n, _ := drain(t, l, "k", 1, r); n != 10 {
		t.Fatalf("cost-1 spends after refusal: %d, want 10", n)
	}
}

func TestLocalRetryAfterIsExact(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := NewLocal(clk.Now)
	r := Rate{PerSecond: 3, Burst: 2}
	ctx := context.Background()
	drain(t, l, "k", 1, r)
	d, _ := l.Allow(ctx, "k", 2, r)
	if d.Allowed || d.RetryAfter <= 0 {
		t.Fatalf("empty bucket = %+v", d)
	}
	wait := d.RetryAfter
	if want := 2 * time.Second / 3; wait < want-time.Microsecond || wait > want+time.Microsecond {
		t.Fatalf("RetryAfter %v, want ~%v", wait, want)
	}
	clk.Advance(wait - 1)
	if d, _ := l.Allow(ctx, "k", 2, r); d.Allowed {
		t.Fatalf("allowed 1ns before RetryAfter: %+v", d)
	}
	clk.Advance(1)
	if d, _ := l.Allow(ctx, "k", 2, r); !d.Allowed {
		t.Fatalf("refused at RetryAfter: %+v", d)
	}
}

func TestLocalCostAboveBurstRunsInDebt(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := NewLocal(clk.Now)
	r := Rate{PerSecond: 10, Burst: 10}
	ctx := context.Background()
	// A full bucket admits a cost of 30 and owes 20 units (2 s) after it.
	if d, _ := l.Allow(ctx, "k", 30, r); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("full bucket, cost 30 = %+v, want allowed", d)
	}
	d, _ := l.Allow(ctx, "k", 30, r)
	if d.Allowed || d.RetryAfter != 3*time.Second {
		t.Fatalf("in debt, cost 30 = %+v, want refused until the bucket is full again (3s)", d)
	}
	d, _ = l.Allow(ctx, "k", 1, r)
	if d.Allowed || d.RetryAfter != 2100*time.Millisecond {
		t.Fatalf("in debt, cost 1 = %+v, want RetryAfter 2.1s", d)
	}
	clk.Advance(3 * time.Second)
	if d, _ := l.Allow(ctx, "k", 30, r); !d.Allowed {
		t.Fatalf("after repaying, cost 30 = %+v", d)
	}
}

func TestRateValidation(t *testing.T) {
	t.Parallel()
	l := NewLocal(newFakeClock().Now)
	for _, tc := range []struct {
		name string
		r    Rate
		cost int
		ok   bool
		n    int // admitted from a full bucket at cost 1
	}{
		{"default burst rounds up", Rate{PerSecond: 2.5}, 1, true, 3},
		{"default burst at least 1", Rate{PerSecond: 0.1}, 1, true, 1},
		{"zero rate", Rate{PerSecond: 0, Burst: 5}, 1, false, 0},
		{"negative rate", Rate{PerSecond: -1, Burst: 5}, 1, false, 0},
		{"NaN rate", Rate{PerSecond: math.NaN(), Burst: 5}, 1, false, 0},
		{"infinite rate", Rate{PerSecond: math.Inf(1), Burst: 5}, 1, false, 0},
		{"negative cost", Rate{PerSecond: 1, Burst: 5}, -1, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := l.Allow(context.Background(), tc.name, tc.cost, tc.r)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok {
				if n, _ := drain(t, l, tc.name, 1, tc.r); n+1 != tc.n {
					t.Fatalf("admitted %d, want %d", n+1, tc.n)
				}
			}
		})
	}
}

func TestLocalCostZeroSpendsNothing(t *testing.T) {
	t.Parallel()
	l := NewLocal(newFakeClock().Now)
	r := Rate{PerSecond: 1, Burst: 3}
	for range 5 {
		if d, _ := l.Allow(context.Background(), "k", 0, r); !d.Allowed || d.Remaining != 3 {
			t.Fatalf("cost 0 = %+v", d)
		}
	}
	if l.Len() != 0 {
		t.Fatalf("cost 0 on a new key stored %d buckets", l.Len())
	}
}

func TestLocalEvictsIdleBuckets(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := NewLocal(clk.Now)
	r := Rate{PerSecond: 10, Burst: 10} // refills fully in 1 s
	for i := range 1000 {
		l.Allow(context.Background(), "old"+strconv.Itoa(i), 1, r)
	}
	if l.Len() != 1000 {
		t.Fatalf("Len = %d, want 1000", l.Len())
	}
	// Full since 100 ms after the spend; evictable once full for > 2 s.
	clk.Advance(2*time.Second + 101*time.Millisecond)
	// Shards sweep on use; 5000 keys touch all 256 shards (a shard missed
	// has probability about 1e-8).
	for i := range 5000 {
		l.Allow(context.Background(), "new"+strconv.Itoa(i), 1, r)
	}
	if l.Len() != 5000 {
		t.Fatalf("Len = %d, want 5000 (idle buckets evicted)", l.Len())
	}
}

func TestLocalKeepsBucketsNotIdleLongEnough(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := NewLocal(clk.Now)
	r := Rate{PerSecond: 1, Burst: 2} // refills fully in 2 s
	drain(t, l, "k", 1, r)
	clk.Advance(1500 * time.Millisecond)
	for i := range 5000 { // sweeps every shard
		l.Allow(context.Background(), "other"+strconv.Itoa(i), 1, r)
	}
	if n, _ := drain(t, l, "k", 1, r); n != 1 {
		t.Fatalf("admitted %d after 1.5 s, want 1 (state kept)", n)
	}
}

func TestLocalCapsEntriesDroppingLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	const maxEntries = 4096
	l := newLocal(clk.Now, maxEntries)
	r := Rate{PerSecond: 0.001, Burst: 1} // never idle long enough to sweep
	ctx := context.Background()
	l.Allow(ctx, "hot", 1, r)
	for i := range 200_000 {
		l.Allow(ctx, "flood"+strconv.Itoa(i), 1, r)
		if i%64 == 0 { // keep "hot" recently used
			if d, _ := l.Allow(ctx, "hot", 1, r); d.Allowed {
				t.Fatalf("hot key admitted after %d flood keys: its bucket was dropped", i)
			}
		}
	}
	if n := l.Len(); n > maxEntries {
		t.Fatalf("Len = %d, want <= %d", n, maxEntries)
	}
	if d, _ := l.Allow(ctx, "flood0", 1, r); !d.Allowed {
		t.Fatalf("oldest flood key still limited: %+v, want dropped", d)
	}
}

func TestLocalConcurrentSpendsNeverExceedBurst(t *testing.T) {
	t.Parallel()
	l := NewLocal(newFakeClock().Now) // frozen clock: nothing refills
	r := Rate{PerSecond: 1, Burst: 1000}
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				if d, _ := l.Allow(context.Background(), "k", 1, r); d.Allowed {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if admitted.Load() != 1000 {
		t.Fatalf("admitted %d, want exactly 1000", admitted.Load())
	}
}

func TestLocalAllowDoesNotAllocate(t *testing.T) {
	l := NewLocal(newFakeClock().Now)
	r := Rate{PerSecond: 10, Burst: 10}
	ctx := context.Background()
	l.Allow(ctx, "k", 1, r)
	if n := testing.AllocsPerRun(1000, func() { l.Allow(ctx, "k", 1, r) }); n != 0 {
		t.Fatalf("Allow on a known key allocates %v times per call, want 0", n)
	}
}
