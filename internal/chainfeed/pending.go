package chainfeed

import (
	"encoding/json"
	"sync"
)

// window remembers the last size keys, to de-duplicate pending
// transactions announced by several nodes.
type window struct {
	mu   sync.Mutex
	seen map[string]struct{}
	ring []string
	next int
}

func newWindow(size int) *window {
	return &window{seen: make(map[string]struct{}, size), ring: make([]string, size)}
}

// add reports whether key is new within the window, and remembers it.
func (w *window) add(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.seen[key]; ok {
		return false
	}
	if old := w.ring[w.next]; old != "" {
		delete(w.seen, old)
	}
	w.ring[w.next] = key
	w.seen[key] = struct{}{}
	w.next = (w.next + 1) % len(w.ring)
	return true
}

// pendingKey is a pending transaction's hash: the notification itself
// (a hash) or the "hash" member of a full transaction.
func pendingKey(tx json.RawMessage) string {
	var h string
	if json.Unmarshal(tx, &h) == nil {
		return h
	}
	var obj struct {
		Hash string `json:"hash"`
	}
	_ = json.Unmarshal(tx, &obj)
	return obj.Hash
}
