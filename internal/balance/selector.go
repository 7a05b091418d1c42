// Package balance chooses one node among candidates that the caller has
// already filtered for health, lag and block availability.
package balance

import (
	"math/rand/v2"
	"time"

	"github.com/rpcgate/rpcgate/internal/node"
)

// Selector picks one node from a non-empty candidate list.
type Selector interface {
	Select(cands []*node.Node) *node.Node
}

// P2C is power of two choices: draw two candidates at random, in
// proportion to their weight, and keep the one with the lower load score
// (EWMA latency × (in flight + 1)). It spreads load like weighted random
// choice but steers away from slow or busy nodes without the herding of
// always picking the single best. The first draw wins ties, so equal nodes
// get shares in proportion to their weights.
type P2C struct{}

var _ Selector = P2C{}

// Scores within 20% or within 5 ms of each other count as equal, so that
// nodes of equal speed share traffic by weight instead of the one that
// happens to be a little faster (or a little luckier on a loaded machine)
// taking it all; a node that is clearly slower or busier (one more request
// in flight doubles its score) still loses.
//
// One pick in explore goes to the first draw whatever the scores, so a node
// that looked slow once (a probe that hit a busy moment) keeps receiving a
// trickle of traffic and its latency keeps being measured, instead of being
// starved on a stale average.
const (
	explore   = 10
	tolerance = 0.8
	slack     = float64(5 * time.Millisecond)
)

// Weighted is a Selector that can draw by weights other than the nodes'
// own (the chain's reputation scales them).
type Weighted interface {
	SelectWeighted(cands []*node.Node, weight func(*node.Node) float64) *node.Node
}

var _ Weighted = P2C{}

func ownWeight(n *node.Node) float64 { return n.Weight() }

// Select implements Selector.
func (p P2C) Select(cands []*node.Node) *node.Node { return p.SelectWeighted(cands, ownWeight) }

// SelectWeighted implements Weighted.
func (P2C) SelectWeighted(cands []*node.Node, weight func(*node.Node) float64) *node.Node {
	switch len(cands) {
	case 0:
		return nil
	case 1:
		return cands[0]
	}
	total := 0.0
	for _, n := range cands {
		total += weight(n)
	}
	i := draw(cands, total, -1, weight)
	j := draw(cands, total-weight(cands[i]), i, weight)
	a, b := cands[i], cands[j]
	if rand.IntN(explore) == 0 {
		return a
	}
	sa, sb := a.Score(), b.Score()
	if sb < sa*tolerance && sa-sb > slack {
		return b
	}
	return a
}

// draw picks an index in proportion to weight, skipping skip.
func draw(cands []*node.Node, total float64, skip int, weight func(*node.Node) float64) int {
	r := rand.Float64() * total
	last := -1
	for k, n := range cands {
		if k == skip {
			continue
		}
		last = k
		w := weight(n)
		if r < w {
			return k
		}
		r -= w
	}
	return last // rounding: the last eligible candidate
}
