package schedule

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func testPolicy(c Clock) Policy {
	return Policy{
		FastTrackPerHigh: 2,
		LowShare:         0.1,
		LowAfter:         time.Second,
		Queue:            [3]int{Low: 1024, High: 512, FastTrack: 256},
		Clock:            c,
	}
}

// waitFor polls until cond holds. The 10s bound only turns a hang into a
// failure; nothing is asserted about how long it took.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	limit := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(limit) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// recorder collects the order in which queued requests got their slot.
type recorder struct {
	mu    sync.Mutex
	order []string
	errs  []error
	wg    sync.WaitGroup
}

// enqueue starts a request of class c that records name once it holds a
// slot and releases it at once, and returns when the request is queued.
func (r *recorder) enqueue(t *testing.T, s *Slots, c Class, name string) {
	t.Helper()
	before := s.Waiting(c)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := s.Acquire(context.Background(), c, time.Time{}); err != nil {
			r.mu.Lock()
			r.errs = append(r.errs, fmt.Errorf("%s: %w", name, err))
			r.mu.Unlock()
			return
		}
		r.mu.Lock()
		r.order = append(r.order, name)
		r.mu.Unlock()
		s.Release() // hands the slot to the next waiter
	}()
	waitFor(t, name+" queued", func() bool { return s.Waiting(c) == before+1 })
}

func (r *recorder) done(t *testing.T) []string {
	t.Helper()
	r.wg.Wait()
	for _, err := range r.errs {
		t.Error(err)
	}
	return r.order
}

func mustAcquire(t *testing.T, s *Slots, c Class) {
	t.Helper()
	if err := s.Acquire(context.Background(), c, time.Time{}); err != nil {
		t.Fatalf("acquire %v: %v", c, err)
	}
}

func equalOrder(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d dispatches, want %d:\ngot  %v\nwant %v", len(got), len(want), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("dispatch %d: got %s, want %s\ngot  %v\nwant %v", i+1, got[i], want[i], got, want)
		}
	}
}

func TestParseClass(t *testing.T) {
	t.Parallel()
	for _, c := range []Class{Low, High, FastTrack} {
		got, ok := ParseClass(c.String())
		if !ok || got != c {
			t.Errorf("ParseClass(%q) = %v, %v; want %v, true", c.String(), got, ok, c)
		}
	}
	if _, ok := ParseClass("urgent"); ok {
		t.Error(`ParseClass("urgent") accepted`)
	}
	if got := Class(7).String(); got != "Class(7)" {
		t.Errorf("Class(7).String() = %q", got)
	}
}

func TestDispatchOrder(t *testing.T) {
	t.Parallel()
	clk := newManualClock() // never advanced: low is never starved
	s := NewSlots(1, testPolicy(clk))
	mustAcquire(t, s, Low) // the one slot stays busy while everyone queues

	var r recorder
	nl, nh, nf := 0, 0, 0
	low := func() { r.enqueue(t, s, Low, fmt.Sprintf("L%02d", nl)); nl++ }
	for range 10 { // arrivals: 5 low, a high, 5 low, a fast-track, ...
		for range 5 {
			low()
		}
		r.enqueue(t, s, High, fmt.Sprintf("H%d", nh))
		nh++
		for range 5 {
			low()
		}
		r.enqueue(t, s, FastTrack, fmt.Sprintf("F%d", nf))
		nf++
	}
	s.Release()
	got := r.done(t)

	var want []string
	for i := range 5 {
		want = append(want, fmt.Sprintf("F%d", 2*i), fmt.Sprintf("F%d", 2*i+1), fmt.Sprintf("H%d", i))
	}
	for i := 5; i < 10; i++ {
		want = append(want, fmt.Sprintf("H%d", i))
	}
	for i := range 100 {
		want = append(want, fmt.Sprintf("L%02d", i))
	}
	equalOrder(t, got, want)

	st := s.Stats()
	if st.InUse != 0 || st.Classes[Low].Waited != 100 || st.Classes[High].Waited != 10 || st.Classes[FastTrack].Waited != 10 {
		t.Fatalf("stats after drain: %+v", st)
	}
}

func TestLowStarvationGuarantee(t *testing.T) {
	t.Parallel()
	const lowAfter = time.Second
	for _, tc := range []struct {
		name    string
		advance time.Duration
		starved bool
	}{
		{"exactly LowAfter is not starved", lowAfter, false},
		{"past LowAfter is starved", lowAfter + time.Nanosecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newManualClock()
			p := testPolicy(clk)
			p.LowAfter = lowAfter
			s := NewSlots(1, p)
			mustAcquire(t, s, High)

			var r recorder
			for i := range 3 {
				r.enqueue(t, s, Low, fmt.Sprintf("L%d", i))
			}
			clk.Advance(tc.advance)
			// A supply of fast-track and high that outlasts the lows.
			for i := range 20 {
				r.enqueue(t, s, FastTrack, fmt.Sprintf("F%d", 2*i))
				r.enqueue(t, s, High, fmt.Sprintf("H%d", i))
				r.enqueue(t, s, FastTrack, fmt.Sprintf("F%d", 2*i+1))
			}
			s.Release()
			got := r.done(t)

			// Fast-track and high alternate 2:1 throughout; when starved,
			// every 10th dispatch (LowShare 0.1) is the oldest low.
			var want []string
			nf, nh, nl := 0, 0, 0
			for d := 1; len(want) < 63; d++ {
				switch {
				case tc.starved && d%10 == 0 && nl < 3, nf == 40 && nh == 20:
					want = append(want, fmt.Sprintf("L%d", nl))
					nl++
				case (nf+nh)%3 == 2:
					want = append(want, fmt.Sprintf("H%d", nh))
					nh++
				default:
					want = append(want, fmt.Sprintf("F%d", nf))
					nf++
				}
			}
			equalOrder(t, got, want)
		})
	}
}

// TestLowShareRule pins the rule itself over a long run with every class
// always waiting: low gets exactly ceil(1/LowShare)-spaced turns and the
// rest go fast-track:high at FastTrackPerHigh:1.
func TestLowShareRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		share     float64
		ftPerHigh int
		every     int // 0: low never runs while others wait
	}{
		{0.1, 2, 10},
		{0.25, 3, 4},
		{0.3, 1, 4}, // ceil(3.33): at least the share
		{1, 2, 1},
		{2, 2, 1},
		{0, 2, 0},
		{-1, 0, 0}, // FastTrackPerHigh 0 counts as 1
	} {
		d := newDispatcher(Policy{FastTrackPerHigh: tc.ftPerHigh, LowShare: tc.share, LowAfter: time.Second})
		t0 := time.Unix(0, 0)
		now := t0.Add(2 * time.Second)
		all := [numClasses]int{10, 10, 10}
		var lows, fts, hps int
		ftPerHigh := max(tc.ftPerHigh, 1)
		for n := 1; n <= 1200; n++ {
			c, ok := d.pick(all, t0, now)
			if !ok {
				t.Fatalf("share %v: nothing picked", tc.share)
			}
			isLowTurn := tc.every > 0 && n%tc.every == 0
			if (c == Low) != isLowTurn {
				t.Fatalf("share %v dispatch %d: got %v, low turn %v", tc.share, n, c, isLowTurn)
			}
			switch c {
			case Low:
				lows++
			case FastTrack:
				fts++
			case High:
				hps++
				if fts != hps*ftPerHigh {
					t.Fatalf("share %v: high #%d after %d fast-track, want %d", tc.share, hps, fts, hps*ftPerHigh)
				}
			}
		}
		if tc.every > 0 && lows != 1200/tc.every {
			t.Errorf("share %v: low got %d of 1200", tc.share, lows)
		}
	}
}

func TestQueueBounds(t *testing.T) {
	t.Parallel()
	p := testPolicy(newManualClock())
	p.Queue = [3]int{Low: 1, High: 2, FastTrack: 0}
	s := NewSlots(1, p)
	mustAcquire(t, s, Low)

	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 3)
	queue := func(c Class, n int) {
		go func() { errs <- s.Acquire(ctx, c, time.Time{}) }()
		waitFor(t, fmt.Sprintf("%d %v queued", n, c), func() bool { return s.Waiting(c) == n })
	}
	queue(Low, 1)
	queue(High, 1)
	queue(High, 2)
	for _, c := range []Class{FastTrack, Low, High} {
		if err := s.Acquire(ctx, c, time.Time{}); !errors.Is(err, ErrQueueFull) {
			t.Errorf("%v over its limit: got %v, want ErrQueueFull", c, err)
		}
	}
	st := s.Stats()
	for c, want := range [3]int{Low: 1, High: 2, FastTrack: 0} {
		if cs := st.Classes[c]; cs.Shed != 1 || cs.Waiting != want {
			t.Errorf("%v: shed %d waiting %d, want 1 and %d", Class(c), cs.Shed, cs.Waiting, want)
		}
	}
	cancel()
	for range 3 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Errorf("queued waiter: got %v, want context.Canceled", err)
		}
	}
	s.Release()
	if s.InUse() != 0 {
		t.Fatalf("in use %d after release, want 0", s.InUse())
	}
}

func TestDeadlineLeavesQueue(t *testing.T) {
	t.Parallel()
	clk := newManualClock()
	s := NewSlots(1, testPolicy(clk))
	mustAcquire(t, s, Low)

	if err := s.Acquire(context.Background(), Low, clk.Now()); !errors.Is(err, ErrDeadline) {
		t.Fatalf("deadline already passed: got %v, want ErrDeadline", err)
	}
	if n := s.Waiting(Low); n != 0 {
		t.Fatalf("waiting %d after a past deadline, want 0", n)
	}

	timed := make(chan error, 1)
	go func() { timed <- s.Acquire(context.Background(), High, clk.Now().Add(100*time.Millisecond)) }()
	waitFor(t, "timed request queued", func() bool { return s.Waiting(High) == 1 })
	var r recorder
	r.enqueue(t, s, Low, "patient")

	clk.Advance(99 * time.Millisecond)
	if n := s.Waiting(High); n != 1 {
		t.Fatalf("waiting %d before the deadline, want 1", n)
	}
	clk.Advance(time.Millisecond) // the timer runs inside Advance
	if n := s.Waiting(High); n != 0 {
		t.Fatalf("waiting %d after the deadline, want 0", n)
	}
	if err := <-timed; !errors.Is(err, ErrDeadline) {
		t.Fatalf("deadline passed while waiting: got %v, want ErrDeadline", err)
	}
	// The expired request is gone: the freed slot goes to the next one.
	s.Release()
	equalOrder(t, r.done(t), []string{"patient"})
	st := s.Stats()
	if st.Classes[Low].Expired != 1 || st.Classes[High].Expired != 1 || st.InUse != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestCancelLeavesQueue(t *testing.T) {
	t.Parallel()
	s := NewSlots(1, testPolicy(newManualClock()))
	mustAcquire(t, s, Low)

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if err := s.Acquire(done, FastTrack, time.Time{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled on arrival: got %v, want context.Canceled", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() { got <- s.Acquire(ctx, FastTrack, time.Time{}) }()
	waitFor(t, "cancellable request queued", func() bool { return s.Waiting(FastTrack) == 1 })
	var r recorder
	r.enqueue(t, s, Low, "patient")

	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if n := s.Waiting(FastTrack); n != 0 {
		t.Fatalf("waiting %d after cancel, want 0", n)
	}
	s.Release()
	equalOrder(t, r.done(t), []string{"patient"})
	if st := s.Stats(); st.Classes[FastTrack].Canceled != 2 || st.InUse != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

// TestNoLeak runs a mix of granted, shed, expired and cancelled requests on
// the wall clock and checks that every request is accounted for and that
// no goroutine outlives them.
func TestNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	p := testPolicy(nil)
	p.Queue = [3]int{Low: 40, High: 20, FastTrack: 10}
	s := NewSlots(3, p)

	const n = 600
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := Class(i % 3)
			ctx := context.Background()
			var deadline time.Time
			switch i % 5 {
			case 1:
				deadline = time.Now().Add(time.Duration(i%7) * 100 * time.Microsecond)
			case 2:
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Duration(i%11)*50*time.Microsecond)
				defer cancel()
			}
			if s.Acquire(ctx, c, deadline) == nil {
				runtime.Gosched()
				s.Release()
			}
		}()
	}
	wg.Wait()

	st := s.Stats()
	var total uint64
	for c, cs := range st.Classes {
		if cs.Waiting != 0 {
			t.Errorf("%v: %d still waiting", Class(c), cs.Waiting)
		}
		total += cs.Dispatched + cs.Shed + cs.Expired + cs.Canceled
	}
	if total != n || st.InUse != 0 {
		t.Fatalf("accounted for %d of %d requests, %d slots in use: %+v", total, n, st.InUse, st)
	}
	waitFor(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
}

func BenchmarkAcquireReleaseFast(b *testing.B) {
	s := NewSlots(1, testPolicy(nil))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Acquire(ctx, High, time.Time{}); err != nil {
			b.Fatal(err)
		}
		s.Release()
	}
}

// BenchmarkContended runs 4×GOMAXPROCS goroutines over 4 slots, so most
// acquisitions wait; the deadline variant arms a timer for each wait.
func BenchmarkContended(b *testing.B) {
	for _, withDeadline := range []bool{false, true} {
		b.Run(fmt.Sprintf("deadline=%v", withDeadline), func(b *testing.B) {
			s := NewSlots(4, testPolicy(nil))
			b.ReportAllocs()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				var i int
				for pb.Next() {
					var deadline time.Time
					if withDeadline {
						deadline = time.Now().Add(time.Minute)
					}
					if err := s.Acquire(ctx, Class(i%3), deadline); err != nil {
						b.Error(err)
						return
					}
					i++
					s.Release()
				}
			})
			st := s.Stats()
			var waited uint64
			for _, cs := range st.Classes {
				waited += cs.Waited
			}
			b.ReportMetric(float64(waited)/float64(b.N), "waited/op")
		})
	}
}

// parkedWaiters counts goroutines blocked in the select of Slots.wait.
func parkedWaiters() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, " [select") && strings.Contains(g, "schedule.(*Slots).wait(") {
			n++
		}
	}
	return n
}

// TestGrantedAsCancelledPassesSlotOn pins the race between a grant and the
// waiter's context: a waiter whose context ended is not handed a slot, the
// slot goes on to the next waiter. Not parallel: it counts goroutines
// parked in Slots.wait.
func TestGrantedAsCancelledPassesSlotOn(t *testing.T) {
	s := NewSlots(1, testPolicy(newManualClock()))
	mustAcquire(t, s, Low)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() { got <- s.Acquire(ctx, FastTrack, time.Time{}) }()
	waitFor(t, "fast-track queued", func() bool { return s.Waiting(FastTrack) == 1 })
	var r recorder
	r.enqueue(t, s, Low, "patient")
	waitFor(t, "both parked", func() bool { return parkedWaiters() == 2 })

	// With s.mu held nothing can be granted, so the cancel wakes the
	// fast-track waiter through ctx.Done; it is then granted the slot
	// before it can take the lock to leave the queue.
	s.mu.Lock()
	cancel()
	s.releaseLocked()
	s.mu.Unlock()

	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("granted as cancelled: got %v, want context.Canceled", err)
	}
	equalOrder(t, r.done(t), []string{"patient"})
	st := s.Stats()
	if ft := st.Classes[FastTrack]; ft.Dispatched != 0 || ft.Waited != 0 || ft.WaitTime != 0 || ft.Canceled != 1 || st.InUse != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

// TryAcquire (hedges) takes only a free slot, never queues, and a refusal
// is not counted as shed (TestShedLowKeepsHigh saw high-priority "sheds"
// that were hedges of answered calls).
func TestTryAcquireNeverQueuesNorSheds(t *testing.T) {
	t.Parallel()
	s := NewSlots(1, Policy{})
	if !s.TryAcquire(High) {
		t.Fatal("a free slot was refused")
	}
	if s.TryAcquire(High) {
		t.Fatal("a held slot was given twice")
	}
	st := s.Stats()
	if got := st.Classes[High].Shed; got != 0 {
		t.Fatalf("a refused try counted %d sheds, want 0", got)
	}
	s.Release()
	if !s.TryAcquire(Low) {
		t.Fatal("the released slot was refused")
	}
}
