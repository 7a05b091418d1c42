package registry

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/nodespec"
)

// Errors a skipped entry wraps (test with errors.Is); each comes inside an
// *EntryError naming the entry.
var (
	ErrUnknownGroup = errors.New("unknown group")
	ErrUnknownNode  = errors.New("unknown node")
	ErrUnknownChain = errors.New("unknown chain")
)

// EntryError says which entry Merge skipped and why.
type EntryError struct {
	Chain, Name string
	Err         error
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("registry entry %s/%s: %v", e.Chain, e.Name, e.Err)
}

func (e *EntryError) Unwrap() error { return e.Err }

// DefaultGroup is the group a new node without Groups joins.
const DefaultGroup = "default"

// Merge applies entries to the config's nodes and groups for one chain and
// returns the effective set. It starts from the config file's nodes and
// groups and applies the chain's entries in name order (entries of other
// chains are ignored), so every replica computes the same set:
//
//   - Removed (a tombstone) hides node Name and takes it out of every group;
//     it wins over everything else in the entry. Hiding a node that does not
//     exist is no error.
//   - An entry with a URL adds node Name or replaces it wholesale: Weight,
//     Workers, Queue, MaxRequestBytes and Headers come from the entry
//     (Entry.Spec), with nodespec's defaults
//     (weight 1, workers 32, queue 8 × workers, max_request_bytes 5 MiB)
//     for zeros, never from the node it replaces.
//   - Groups, when given, become the node's exact membership. When empty, a
//     node that already exists keeps its groups and a new node joins
//     "default". Groups must exist in the config: entries never create one.
//   - An entry without a URL changes an existing node only (its groups and
//     parking); naming a node that does not exist is an error.
//   - Parked marks the node parked: it stays in its groups but takes no
//     traffic (drained).
//
// An entry that cannot be applied (unknown group or node, invalid fields)
// is skipped whole and reported in err as an *EntryError; the returned set
// is complete and usable either way. Merge does not check that groups keep
// at least one node. It never modifies cc.
func Merge(chain string, cc *config.Chain, entries []Entry) (nodes map[string]nodespec.Spec, groups map[string][]string, parked map[string]bool, err error) {
	m := merger{nodes: map[string]nodespec.Spec{}, groups: map[string][]string{}, parked: map[string]bool{}}
	if cc != nil {
		for name, n := range cc.Nodes {
			if n != nil {
				m.nodes[name] = n.Spec(name)
			}
		}
		for name, g := range cc.Groups {
			if g != nil {
				m.groups[name] = slices.Clone(g.Nodes)
			}
		}
	}
	var mine []Entry
	for _, e := range entries {
		if e.Chain == chain {
			mine = append(mine, e)
		}
	}
	sortEntries(mine)
	var errs []error
	for _, e := range mine {
		if cc == nil {
			errs = append(errs, &EntryError{Chain: e.Chain, Name: e.Name, Err: fmt.Errorf("%w %q: it is not in the config file", ErrUnknownChain, chain)})
			continue
		}
		if err := m.apply(e); err != nil {
			errs = append(errs, &EntryError{Chain: e.Chain, Name: e.Name, Err: err})
		}
	}
	return m.nodes, m.groups, m.parked, errors.Join(errs...)
}

type merger struct {
	nodes  map[string]nodespec.Spec
	groups map[string][]string
	parked map[string]bool
}

func (m *merger) apply(e Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if e.Removed {
		delete(m.nodes, e.Name)
		delete(m.parked, e.Name)
		m.setGroups(e.Name, nil)
		return nil
	}
	for _, g := range e.Groups {
		if _, ok := m.groups[g]; !ok {
			return fmt.Errorf("%w %q (groups: %s; entries cannot create groups: add it to the config file)",
				ErrUnknownGroup, g, strings.Join(slices.Sorted(maps.Keys(m.groups)), ", "))
		}
	}
	_, exists := m.nodes[e.Name]
	switch {
	case e.URL != "":
		if !exists && len(e.Groups) == 0 {
			if _, ok := m.groups[DefaultGroup]; !ok {
				return fmt.Errorf("%w %q: a new node without groups joins it", ErrUnknownGroup, DefaultGroup)
			}
			e.Groups = []string{DefaultGroup}
		}
		m.nodes[e.Name] = e.Spec()
	case !exists:
		return fmt.Errorf("%w %q: an entry without url can only change an existing node", ErrUnknownNode, e.Name)
	}
	if len(e.Groups) > 0 {
		m.setGroups(e.Name, e.Groups)
	}
	if e.Parked {
		m.parked[e.Name] = true
	} else {
		delete(m.parked, e.Name)
	}
	return nil
}

// setGroups makes gs the exact set of groups holding node.
func (m *merger) setGroups(node string, gs []string) {
	for g, members := range m.groups {
		member := slices.Contains(gs, g)
		has := slices.Contains(members, node)
		switch {
		case has && !member:
			m.groups[g] = slices.DeleteFunc(members, func(n string) bool { return n == node })
		case member && !has:
			m.groups[g] = append(members, node)
		}
	}
}
