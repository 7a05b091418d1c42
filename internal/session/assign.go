package session

import (
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/cespare/xxhash/v2"
)

// loadFactor bounds a node's sessions to this times the mean (rounded
// up): consistent hashing with bounded loads. Plain rendezvous hashing
// gives each node a binomial share, which for 20 sessions over 6 nodes
// often puts 1.6x the mean on one of them.
const loadFactor = 1.25

// Assigner gives each session key a subset per epoch: its rendezvous
// ranking of the group's nodes, skipping nodes already at the load bound.
// A key keeps its subset for the whole epoch (unless one of its nodes
// leaves the group); at the next epoch every subset is drawn afresh. The
// assignment depends on the order keys arrive in, so replicas may give one
// key different subsets; each replica is balanced on its own.
type Assigner struct {
	size int

	mu     sync.Mutex
	epoch  uint64
	groups map[string]*groupLoad
	total  int
}

type groupLoad struct {
	subsets map[string][]string // key → its subset
	load    map[string]int      // node → sessions holding it
}

// NewAssigner assigns subsets of size nodes.
func NewAssigner(size int) *Assigner {
	return &Assigner{size: size, groups: map[string]*groupLoad{}}
}

// Subset returns key's subset of nodes (a group's node names, identified
// by group) in epoch.
func (a *Assigner) Subset(group, key string, epoch uint64, nodes []string) []string {
	if a.size <= 0 || a.size >= len(nodes) {
		return nodes
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if epoch != a.epoch {
		a.epoch, a.groups, a.total = epoch, map[string]*groupLoad{}, 0
	}
	g := a.groups[group]
	if g == nil {
		g = &groupLoad{subsets: map[string][]string{}, load: map[string]int{}}
		a.groups[group] = g
	}
	if sub, ok := g.subsets[key]; ok {
		if allIn(sub, nodes) {
			return sub
		}
		for _, n := range sub {
			g.load[n]--
		}
		delete(g.subsets, key)
		a.total--
	}
	if a.total >= MaxTracked { // bounded memory: plain rendezvous from here
		return Subset(key, epoch, nodes, func(s string) string { return s }, a.size)
	}
	capacity := int(math.Ceil(loadFactor * float64((len(g.subsets)+1)*a.size) / float64(len(nodes))))
	ranked := rank(key, epoch, nodes)
	sub := make([]string, 0, a.size)
	for _, n := range ranked {
		if len(sub) < a.size && g.load[n] < capacity {
			sub = append(sub, n)
		}
	}
	for _, n := range ranked { // only when every node is at the bound
		if len(sub) < a.size && !slices.Contains(sub, n) {
			sub = append(sub, n)
		}
	}
	for _, n := range sub {
		g.load[n]++
	}
	g.subsets[key] = sub
	a.total++
	return sub
}

// rank orders nodes by key's rendezvous score in epoch, highest first.
func rank(key string, epoch uint64, nodes []string) []string {
	prefix := key + "\x00" + strconv.FormatUint(epoch, 10) + "\x00"
	out := slices.Clone(nodes)
	score := make(map[string]uint64, len(nodes))
	for _, n := range nodes {
		score[n] = xxhash.Sum64String(prefix + n)
	}
	slices.SortStableFunc(out, func(a, b string) int {
		switch sa, sb := score[a], score[b]; {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	})
	return out
}

func allIn(sub, nodes []string) bool {
	for _, n := range sub {
		if !slices.Contains(nodes, n) {
			return false
		}
	}
	return true
}
