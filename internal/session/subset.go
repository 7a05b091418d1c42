// Package session gives clients sessions: a stable subset of a group's
// nodes per epoch, chosen by rendezvous hashing on the client's session
// key, and read-your-writes: after a client's write succeeds on a node,
// that client's reads of pending state go to that node for a window.
// It is a selection constraint only: it narrows the nodes a call may use
// and leaves the choice among them to the attempt engine.
package session

import (
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"
)

// KeyOf is the client's session key: its X-Session-Id header when sent,
// else its API key's name, else its IP address. "" means no session.
func KeyOf(sessionHeader, apiKey string, ip netip.Addr) string {
	switch {
	case sessionHeader != "":
		if len(sessionHeader) > 128 {
			sessionHeader = sessionHeader[:128]
		}
		return "s:" + sessionHeader
	case apiKey != "":
		return "k:" + apiKey
	case ip.IsValid():
		return "ip:" + ip.String()
	}
	return ""
}

// Epoch is the number of the epoch of length d that t falls in.
func Epoch(t time.Time, d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64(t.UnixNano() / int64(d))
}

// Subset returns the size items of items that key ranks highest in epoch
// (rendezvous, highest-random-weight hashing), in items' order. Each item
// is named by name. The same key, epoch and set give the same subset; a
// node joining or leaving moves only the keys that ranked it in their
// subset. With size <= 0 or size >= len(items), items is returned as is.
func Subset[T any](key string, epoch uint64, items []T, name func(T) string, size int) []T {
	if size <= 0 || size >= len(items) {
		return items
	}
	type scored struct {
		i     int
		score uint64
	}
	var buf [32]scored
	s := buf[:0]
	prefix := key + "\x00" + strconv.FormatUint(epoch, 10) + "\x00"
	for i, it := range items {
		s = append(s, scored{i, xxhash.Sum64String(prefix + name(it))})
	}
	slices.SortFunc(s, func(a, b scored) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return a.i - b.i
	})
	idx := make([]int, size)
	for j := range size {
		idx[j] = s[j].i
	}
	slices.Sort(idx)
	out := make([]T, size)
	for j, i := range idx {
		out[j] = items[i]
	}
	return out
}
