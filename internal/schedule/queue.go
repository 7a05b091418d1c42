package schedule

import "time"

// waiter states, changed only under Slots.mu.
const (
	queued  uint8 = iota
	granted       // handed a slot by Release
	expired       // removed by its deadline timer
	left          // removed by its own goroutine (cancelled)
)

// waiter is one request waiting for a slot. Waiters are pooled: a waiter
// is recycled only once nothing else (queue, timer callback) can reach it.
type waiter struct {
	next, prev *waiter
	class      Class
	state      uint8
	since      time.Time
	waited     time.Duration // set when granted
	// ready receives exactly one signal when state leaves queued by
	// Release or the timer (never when the waiter leaves by itself).
	ready  chan struct{}
	timer  Timer  // deadline timer, created on first use, then Reset
	armed  bool   // timer was started for the current wait
	expire func() // bound once to this waiter, so arming costs no closure
}

// fifo is an intrusive doubly linked list of waiters: O(1) push, pop and
// removal from the middle when a waiter leaves early.
type fifo struct {
	head, tail *waiter
	n          int
}

func (q *fifo) push(w *waiter) {
	w.prev, w.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
	q.n++
}

func (q *fifo) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next = nil, nil
	q.n--
}
