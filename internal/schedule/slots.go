// Package schedule decides when a request may use one of a node's worker
// slots. While every slot is busy, requests wait in one bounded queue per
// priority class (fast-track, high, low), and each freed slot is handed
// straight to the waiter the dispatch rule (see dispatcher) picks.
package schedule

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrQueueFull means the request's class queue on this node is full; the
// request never left the gateway, so it is always safe to try another node.
var ErrQueueFull = errors.New("node queue full")

// ErrDeadline means the request's deadline passed before it got a slot:
// either it had already passed on arrival or it passed while waiting. The
// request never left the gateway.
var ErrDeadline = errors.New("deadline passed waiting for a node slot")

// Slots bounds the requests in flight to one node (workers) and the
// requests waiting for a slot (Policy.Queue per class). Memory is bounded
// by the queue limits: a waiter is a pooled struct and its caller's
// goroutine, and a deadline timer exists only while a request waits.
//
// Invariant: someone waits only while every slot is in use, because a
// freed slot goes to a waiter before it becomes free.
type Slots struct {
	mu       sync.Mutex
	inUse    int
	capacity int
	waiting  int // sum of q[*].n
	q        [numClasses]fifo
	limit    [numClasses]int
	d        dispatcher
	stats    [numClasses]ClassStats // Waiting is filled in by Stats
	clock    Clock
	pool     sync.Pool // *waiter bound to this Slots
}

// Stats is a snapshot for metrics.
type Stats struct {
	InUse, Capacity int
	// Classes is indexed by Class.
	Classes [numClasses]ClassStats
}

// ClassStats counts one class's traffic since NewSlots.
type ClassStats struct {
	Waiting    int           // queued now (queue depth)
	Dispatched uint64        // slots granted, at once or after waiting
	Waited     uint64        // of Dispatched, those that had to wait
	WaitTime   time.Duration // total wait of the Waited ones
	Shed       uint64        // ErrQueueFull
	Expired    uint64        // ErrDeadline
	Canceled   uint64        // the caller's context ended first
}

// NewSlots returns slots for workers concurrent requests (at least 1),
// queued and dispatched by p.
func NewSlots(workers int, p Policy) *Slots {
	s := &Slots{capacity: max(workers, 1), d: newDispatcher(p), clock: p.Clock}
	if s.clock == nil {
		s.clock = realClock{}
	}
	for c := range s.limit {
		s.limit[c] = max(p.Queue[c], 0)
	}
	s.pool.New = func() any {
		w := &waiter{ready: make(chan struct{}, 1)}
		w.expire = func() { s.expire(w) }
		return w
	}
	return s
}

// Acquire takes a slot for a request of class, waiting in the class's
// queue while all slots are busy. It returns nil (the caller must Release),
// ErrQueueFull at once when the class queue is full, ErrDeadline when
// deadline (zero: none) has passed on arrival or passes while waiting, or
// ctx.Err() when ctx ends while waiting. A request that fails leaves the
// queue at once.
//
// With a free slot and nobody waiting, Acquire neither reads the clock nor
// allocates; the deadline is then left to the caller's exchange, which
// enforces it anyway. An out-of-range class counts as Low.
func (s *Slots) Acquire(ctx context.Context, class Class, deadline time.Time) error {
	class = class.valid()
	s.mu.Lock()
	if s.waiting == 0 && s.inUse < s.capacity {
		s.inUse++
		s.stats[class].Dispatched++
		s.mu.Unlock()
		return nil
	}
	return s.wait(ctx, class, deadline)
}

// TryAcquire takes a worker slot only if one is free now and nobody waits
// for one; it never queues and counts nothing when it fails. Hedged
// attempts use it: a hedge is worth sending only to a node with spare
// capacity, and one that cannot be sent is not a request shed.
func (s *Slots) TryAcquire(class Class) bool {
	class = class.valid()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waiting == 0 && s.inUse < s.capacity {
		s.inUse++
		s.stats[class].Dispatched++
		return true
	}
	return false
}

// wait queues the caller; s.mu is held on entry and released here.
func (s *Slots) wait(ctx context.Context, class Class, deadline time.Time) error {
	st := &s.stats[class]
	if err := ctx.Err(); err != nil {
		st.Canceled++
		s.mu.Unlock()
		return err
	}
	now := s.clock.Now()
	var d time.Duration
	if !deadline.IsZero() {
		if d = deadline.Sub(now); d <= 0 {
			st.Expired++
			s.mu.Unlock()
			return ErrDeadline
		}
	}
	if s.q[class].n >= s.limit[class] {
		st.Shed++
		s.mu.Unlock()
		return ErrQueueFull
	}
	w := s.pool.Get().(*waiter)
	w.class, w.state, w.since = class, queued, now
	s.q[class].push(w)
	s.waiting++
	if d > 0 {
		w.armed = true
		if w.timer == nil {
			w.timer = s.clock.AfterFunc(d, w.expire)
		} else {
			w.timer.Reset(d)
		}
	}
	s.mu.Unlock()

	if cw, ok := ctx.Value(ClientWatcherKey).(ClientWatcher); ok {
		stop := cw.WatchClient()
		defer stop()
	}
	select {
	case <-w.ready:
		// Release or the timer set w.state before signalling.
		err := ErrDeadline
		if w.state == granted {
			err = nil
		}
		s.recycle(w)
		return err
	case <-ctx.Done():
	}

	s.mu.Lock()
	switch w.state {
	case queued:
		s.q[class].remove(w)
		s.waiting--
		w.state = left
		st.Canceled++
		s.mu.Unlock()
	case granted:
		// The slot came as ctx ended: pass it on rather than hand a dead
		// request to the node, and count the request as cancelled.
		st.Dispatched--
		st.Waited--
		st.WaitTime -= w.waited
		st.Canceled++
		s.releaseLocked()
		s.mu.Unlock()
		<-w.ready
	default: // expired: the deadline won the race
		s.mu.Unlock()
		<-w.ready
		s.recycle(w)
		return ErrDeadline
	}
	s.recycle(w)
	return ctx.Err()
}

// expire is w's deadline timer callback.
func (s *Slots) expire(w *waiter) {
	s.mu.Lock()
	if w.state == queued {
		s.q[w.class].remove(w)
		s.waiting--
		w.state = expired
		s.stats[w.class].Expired++
		w.ready <- struct{}{}
	}
	s.mu.Unlock()
}

// recycle returns a finished waiter to the pool, unless its timer callback
// may still run (it fired, and lost the race to Release or ctx): that
// waiter is left to the garbage collector so the late callback cannot touch
// a reused one.
func (s *Slots) recycle(w *waiter) {
	if w.armed {
		w.armed = false
		if !w.timer.Stop() && w.state != expired {
			return
		}
	}
	s.pool.Put(w)
}

// Release returns a slot taken by Acquire, handing it to the next waiter
// if anyone waits.
func (s *Slots) Release() {
	s.mu.Lock()
	s.releaseLocked()
	s.mu.Unlock()
}

func (s *Slots) releaseLocked() {
	if s.waiting == 0 {
		if s.inUse == 0 {
			s.mu.Unlock()
			panic("schedule: Release without Acquire")
		}
		s.inUse--
		return
	}
	now := s.clock.Now()
	var oldestLow time.Time
	if h := s.q[Low].head; h != nil {
		oldestLow = h.since
	}
	c, _ := s.d.pick(s.counts(), oldestLow, now)
	w := s.q[c].head
	s.q[c].remove(w)
	s.waiting--
	w.state = granted
	w.waited = now.Sub(w.since)
	st := &s.stats[c]
	st.Dispatched++
	st.Waited++
	st.WaitTime += w.waited
	w.ready <- struct{}{}
}

func (s *Slots) counts() (n [numClasses]int) {
	for c := range s.q {
		n[c] = s.q[c].n
	}
	return n
}

// InUse reports busy slots.
func (s *Slots) InUse() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inUse
}

// Capacity reports the number of worker slots.
func (s *Slots) Capacity() int { return s.capacity }

// Waiting reports the requests of class c queued now.
func (s *Slots) Waiting(c Class) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.q[c.valid()].n
}

// Stats returns a snapshot of the slots and per-class counters.
func (s *Slots) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{InUse: s.inUse, Capacity: s.capacity, Classes: s.stats}
	for c := range st.Classes {
		st.Classes[c].Waiting = s.q[c].n
	}
	return st
}
