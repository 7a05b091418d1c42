package session

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"
)

// Tracker remembers, per session key, the node that last took a write,
// for a window. It is bounded: at most MaxTracked keys (the oldest are
// dropped first once expired ones are gone).
type Tracker struct {
	window time.Duration
	mu     sync.Mutex
	last   map[string]wrote
}

type wrote struct {
	node  string
	until time.Time
}

// MaxTracked bounds the keys a Tracker holds.
const MaxTracked = 100_000

// NewTracker returns a tracker with the given window (> 0).
func NewTracker(window time.Duration) *Tracker {
	return &Tracker{window: window, last: map[string]wrote{}}
}

// Wrote records that key's write succeeded on node at now.
func (t *Tracker) Wrote(key, node string, now time.Time) {
	if key == "" || node == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.last) >= MaxTracked {
		t.sweepLocked(now)
	}
	if _, ok := t.last[key]; !ok && len(t.last) >= MaxTracked {
		return // full of live sessions: this one gets no pinning
	}
	t.last[key] = wrote{node: node, until: now.Add(t.window)}
}

// Pinned returns the node key's pending-state reads go to at now, if any.
func (t *Tracker) Pinned(key string, now time.Time) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w, ok := t.last[key]
	if !ok {
		return "", false
	}
	if now.After(w.until) {
		delete(t.last, key)
		return "", false
	}
	return w.node, true
}

// Len is how many keys are tracked.
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.last)
}

func (t *Tracker) sweepLocked(now time.Time) {
	for k, w := range t.last {
		if now.After(w.until) {
			delete(t.last, k)
		}
	}
}

// PendingRead reports a read of pending state, which a node knows only
// once it has seen the client's transaction: eth_getTransactionByHash,
// eth_getTransactionReceipt, and eth_getTransactionCount or eth_call at
// "pending".
func PendingRead(method string, params []byte) bool {
	switch method {
	case "eth_getTransactionByHash", "eth_getTransactionReceipt":
		return true
	case "eth_getTransactionCount", "eth_call":
		var ps []json.RawMessage
		if json.Unmarshal(params, &ps) != nil || len(ps) < 2 {
			return false
		}
		return bytes.Equal(bytes.TrimSpace(ps[1]), []byte(`"pending"`))
	}
	return false
}
