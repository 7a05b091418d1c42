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
	"slices"
	"strings"
	"time"

	"github.com/rpcgate/rpcgate/internal/nodespec"
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
	// Queue and MaxRequestBytes: 0 (absent in entries written before
	// they existed) is nodespec's default.
	Queue           int   `json:"queue,omitempty"`
	MaxRequestBytes int64 `json:"max_request_bytes,omitempty"`
	Removed         bool  `json:"removed,omitempty"` // tombstone: hides a node the config file defines
	Parked          bool  `json:"parked,omitempty"`  // drained and parked: kept but takes no traffic
	// Source says who made the entry: "" for the admin API (shown as
	// "runtime"), SourceOrchestrator for a node that joined by itself.
	// Merge ignores it; the orchestrator replaces and retires only its own.
	Source  string    `json:"source,omitempty"`
	Updated time.Time `json:"updated"`
}

// SourceOrchestrator marks an entry made by the orchestrator (a node that
// joined through `rpcgate agent` or ethstats).
const SourceOrchestrator = "orchestrator"

// ErrInvalidEntry is wrapped by every error Entry.Validate returns.
var ErrInvalidEntry = errors.New("invalid registry entry")

// Validate checks what can be checked without the chain's config:
// identity, and for an entry with a URL the node it describes, by the same
// rules (and messages) as a config file's node (nodespec). Put calls it;
// Merge checks the rest (groups and nodes that must exist).
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
	case e.WS != "" && e.URL == "":
		return bad("ws needs url: an entry without url changes an existing node's groups or parking only")
	}
	if e.URL != "" {
		if ps := e.Spec().Validate(); len(ps) > 0 {
			return bad("%s", ps[0])
		}
	}
	for _, g := range e.Groups {
		if g == "" {
			return bad("empty group name")
		}
	}
	return nil
}

// Spec is the node an entry with a URL describes, defaults applied
// (zeros mean the defaults, never the settings of a node it replaces).
func (e Entry) Spec() nodespec.Spec {
	s := nodespec.Spec{Name: e.Name, URL: e.URL, WS: e.WS, Headers: maps.Clone(e.Headers),
		Weight: e.Weight, Workers: e.Workers, Queue: e.Queue, MaxRequestBytes: e.MaxRequestBytes}
	s.ApplyDefaults()
	return s
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
