// Package watch is the shared machinery behind "tell me whenever this set
// changes": an in-process notifier for stores that change locally, and a
// Redis pub/sub loop that re-reads the whole set on every message and
// after every reconnect, for stores shared by replicas.
package watch

import "sync"

// Notifier wakes watchers. Each watcher has a one-slot channel, so signals
// coalesce and a slow watcher never blocks a writer.
type Notifier struct {
	mu   sync.Mutex
	next int
	subs map[int]chan struct{}
}

// Add registers a watcher. With initial, its channel starts signalled, so
// the watcher reads the current set once before any change. The returned
// func unregisters it.
func (n *Notifier) Add(initial bool) (<-chan struct{}, func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.subs == nil {
		n.subs = map[int]chan struct{}{}
	}
	id := n.next
	n.next++
	ch := make(chan struct{}, 1)
	if initial {
		ch <- struct{}{}
	}
	n.subs[id] = ch
	return ch, func() {
		n.mu.Lock()
		delete(n.subs, id)
		n.mu.Unlock()
	}
}

// Signal wakes every watcher.
func (n *Notifier) Signal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range n.subs {
		Poke(ch)
	}
}

// Poke sends on a one-slot channel without blocking.
func Poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
