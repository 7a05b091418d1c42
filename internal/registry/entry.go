// Package registry is the durable store of run-time changes to the node set
// (nodes added, removed, drained and parked through the admin API) and of
// node up/down history for the status page. Two backends implement Store: a
// JSON state file for a single gateway, and Redis, the shared source of
// truth for many replicas, which pushes every change to all of them.
//
// The store holds changes, not the effective node set: Merge applies them
// on top of a chain's config file nodes and groups.
package registry

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Entry is one run-time change to a chain's node set. (Chain, Name) is its
// identity; a later Put with the same pair replaces it.
type Entry struct {
	Chain   string            `json:"chain"`
	Name    string            `json:"name"`
	URL     string            `json:"url,omitempty"`
	WS      string            `json:"ws,omitempty"`
	Groups  []string          `json:"groups,omitempty"`
	Weight  int               `json:"weight,omitempty"`
	Workers int               `json:"workers,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Removed bool              `json:"removed,omitempty"` // tombstone: hides a node the config file defines
	Parked  bool              `json:"parked,omitempty"`  // drained and parked: kept but takes no traffic
	Updated time.Time         `json:"updated"`
}

// ErrInvalidEntry is wrapped by every error Entry.Validate returns.
var ErrInvalidEntry = errors.New("invalid registry entry")

// Validate checks what can be checked without the chain's config: identity,
// URL schemes and non-negative sizes. Put calls it; Merge checks the rest
// (groups and nodes that must exist).
func (e Entry) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %s/%s: %s", ErrInvalidEntry, e.Chain, e.Name, fmt.Sprintf(format, args...))
	}
	switch {
	case e.Chain == "":
		return bad("chain is empty")
	case strings.Contains(e.Chain, "/"):
		return bad("chain must not contain '/'")
	case e.Name == "":
		return bad("name is empty")
	case e.Weight < 0:
		return bad("weight %d is negative", e.Weight)
	case e.Workers < 0:
		return bad("workers %d is negative", e.Workers)
	}
	if e.URL != "" && !validURL(e.URL, "http", "https") {
		return bad("url must be an http or https URL with a host")
	}
	if e.WS != "" && !validURL(e.WS, "ws", "wss") {
		return bad("ws must be a ws or wss URL with a host")
	}
	if e.WS != "" && e.URL == "" {
		return bad("ws needs url: an entry without url changes an existing node's groups or parking only")
	}
	for _, g := range e.Groups {
		if g == "" {
			return bad("empty group name")
		}
	}
	return nil
}

func validURL(raw string, schemes ...string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Host != "" && slices.Contains(schemes, u.Scheme)
}

// key is the entry's identity as stored: "chain/name". Chain never holds a
// '/', so the first one separates the two.
func (e Entry) key() string { return entryKey(e.Chain, e.Name) }

func entryKey(chain, name string) string { return chain + "/" + name }

// clone returns a deep copy, so callers cannot alter a store's state.
func (e Entry) clone() Entry {
	e.Groups = slices.Clone(e.Groups)
	e.Headers = maps.Clone(e.Headers)
	return e
}

// sortEntries orders entries by chain, then name: the order Load returns and
// Merge applies.
func sortEntries(es []Entry) {
	slices.SortStableFunc(es, func(a, b Entry) int {
		if c := strings.Compare(a.Chain, b.Chain); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}
