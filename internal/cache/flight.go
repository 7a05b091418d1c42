package cache

import "sync"

// Flights lets identical concurrent calls share one upstream call: the
// first caller of a key runs it, later callers of the same key wait for
// its result.
type Flights[V any] struct {
	mu sync.Mutex
	m  map[string]*flight[V]
	// waiting counts callers waiting for another caller's result (for the
	// rpcgate_cache_waiting gauge: tests hold the node until it is full).
	waiting func(delta float64)
}

type flight[V any] struct {
	done chan struct{}
	v    V
	n    int // callers sharing the result
}

// Do runs fn once per key among concurrent callers. shared reports that
// this caller got another caller's result (or that others got this one's:
// leader is true for the caller that ran fn).
func (f *Flights[V]) Do(key string, fn func() V) (v V, leader bool) {
	f.mu.Lock()
	if f.m == nil {
		f.m = map[string]*flight[V]{}
	}
	if fl, ok := f.m[key]; ok {
		fl.n++
		f.mu.Unlock()
		if f.waiting != nil {
			f.waiting(1)
			defer f.waiting(-1)
		}
		<-fl.done
		return fl.v, false
	}
	fl := &flight[V]{done: make(chan struct{}), n: 1}
	f.m[key] = fl
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.m, key)
		f.mu.Unlock()
		close(fl.done)
	}()
	fl.v = fn()
	return fl.v, true
}
