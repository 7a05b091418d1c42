package status

import (
	"context"
	"slices"
	"sync"
	"time"
)

// MemoryHistory is an in-process event log holding the newest Max events
// per chain: a History for a gateway that has no registry store (no Redis,
// no state file). It is lost on restart.
type MemoryHistory struct {
	Max int // events kept per chain; 0 means 10000

	mu     sync.Mutex
	chains map[string][]Event
}

// Record implements History.
func (m *MemoryHistory) Record(_ context.Context, e Event) error {
	limit := m.Max
	if limit <= 0 {
		limit = 10000
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.chains == nil {
		m.chains = map[string][]Event{}
	}
	evs := append(m.chains[e.Chain], e)
	if len(evs) > limit {
		evs = append(evs[:0:0], evs[len(evs)-limit:]...)
	}
	m.chains[e.Chain] = evs
	return nil
}

// Events implements History: the chain's events at or after since, oldest
// first.
func (m *MemoryHistory) Events(_ context.Context, chain string, since time.Time) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Event
	for _, e := range m.chains[chain] {
		if !e.At.Before(since) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b Event) int { return a.At.Compare(b.At) })
	return out, nil
}
