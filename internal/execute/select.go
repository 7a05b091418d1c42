package execute

import (
	"github.com/rpcgate/rpcgate/internal/balance"
	"github.com/rpcgate/rpcgate/internal/evm"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/node"
)

// maxHops bounds a walk down fallback groups (config rejects loops; this
// is a second guard).
const maxHops = 8

// tried remembers the nodes already used by one request.
type tried struct {
	n   int
	set [10]*node.Node
}

func (t *tried) add(n *node.Node) {
	if t.n < len(t.set) {
		t.set[t.n] = n
		t.n++
	}
}

func (t *tried) has(n *node.Node) bool {
	for i := 0; i < t.n; i++ {
		if t.set[i] == n {
			return true
		}
	}
	return false
}

// pick chooses the node for the next attempt. It walks the group and then
// its fallbacks; in each it first looks for nodes that satisfy the block
// requirement (at the best head for tip-dependent calls, at or above the
// block for numbered ones), then for any selectable node, so that a failed
// best-head node does not turn into a failed request. It returns the group
// the node came from.
func (e *Executor) pick(c *fleet.Chain, g *fleet.Group, ref evm.BlockRef, t *tried) (*node.Node, *fleet.Group) {
	var buf [16]*node.Node
	need, strict := requirement(c, ref)
	for hop, grp := 0, g; grp != nil && hop < maxHops; hop, grp = hop+1, grp.Fallback {
		for pass := 0; pass < 2; pass++ {
			if pass == 1 && !strict {
				break
			}
			cands := buf[:0]
			for _, n := range grp.Nodes {
				if !c.Selectable(n) || t.has(n) {
					continue
				}
				if pass == 0 && strict && n.Head() < need {
					continue
				}
				cands = append(cands, n)
			}
			if len(cands) == 0 {
				continue
			}
			if w, ok := e.Selector.(balance.Weighted); ok {
				return w.SelectWeighted(cands, c.Weight), grp
			}
			return e.Selector.Select(cands), grp
		}
	}
	return nil, nil
}

// requirement returns the lowest head a node must have for ref, and
// whether there is such a requirement.
func requirement(c *fleet.Chain, ref evm.BlockRef) (uint64, bool) {
	best := c.BestHead()
	switch ref.Kind {
	case evm.BlockLatest:
		return best, true
	case evm.BlockNumber:
		// A block above the best head exists nowhere yet: the nodes at the
		// best head are the likeliest to have it first.
		return min(ref.Number, best), true
	default:
		return 0, false
	}
}

// another reports whether some selectable node not tried yet remains in g
// or its fallbacks, so that an attempt may be abandoned in its favour.
func (e *Executor) another(c *fleet.Chain, g *fleet.Group, t *tried) bool {
	for hop, grp := 0, g; grp != nil && hop < maxHops; hop, grp = hop+1, grp.Fallback {
		for _, n := range grp.Nodes {
			if !t.has(n) && c.Selectable(n) {
				return true
			}
		}
	}
	return false
}
