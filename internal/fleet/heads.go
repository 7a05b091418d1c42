package fleet

// Heads: the best head, each node's lag, whether it may be selected, the
// state operators see, and the eth_blockNumber clamp.

import (
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/reputation"
)

// MaxLag is how far behind the best head a node may be and still serve.
func (c *Chain) MaxLag() uint64 { return c.topo.Load().maxLag }

// BestHead is the highest head among healthy nodes.
func (c *Chain) BestHead() uint64 { return c.best.Load() }

// Lag is how far n is behind the best head.
func (c *Chain) Lag(n *node.Node) uint64 {
	b, h := c.best.Load(), n.Head()
	if h >= b {
		return 0
	}
	return b - h
}

// Selectable reports a node that is healthy and within max_lag.
func (c *Chain) Selectable(n *node.Node) bool {
	return n.Usable() && c.Lag(n) <= c.MaxLag() && c.rep.Serving(n.Name())
}

// Node states as operators see them (admin API, status page, demo): the
// node's health state, with "lagging" for a healthy node beyond max_lag.
const (
	StateOK         = "ok"
	StateLagging    = "lagging"
	StateEjected    = "ejected"
	StateDraining   = "draining"
	StateWrongChain = "wrong-chain"
	StateUnknown    = "unknown"
	// StateQuarantined: lost too many disputes; no traffic during its
	// cool-off. StateShadow: after the cool-off, shadow traffic only
	// (compared, never served) until it agrees again.
	StateQuarantined = "quarantined"
	StateShadow      = "quarantined-shadow"
)

// StateOf names n's state: one of the State constants. It is the one
// place that says whether a node is lagging.
func (c *Chain) StateOf(n *node.Node) string {
	switch s := n.State(); s {
	case node.StateOK:
		switch c.rep.Phase(n.Name()) {
		case reputation.Quarantined:
			return StateQuarantined
		case reputation.Shadow:
			return StateShadow
		}
		if c.Lag(n) > c.MaxLag() {
			return StateLagging
		}
		return StateOK
	case node.StateEjected:
		return StateEjected
	case node.StateDraining:
		return StateDraining
	case node.StateWrongChain:
		return StateWrongChain
	default:
		return StateUnknown
	}
}

// ServeBlockNumber returns the block number to answer eth_blockNumber
// with, given a node's answer: never lower than one already served.
func (c *Chain) ServeBlockNumber(v uint64) (uint64, bool) {
	for {
		cur := c.served.Load()
		if v <= cur {
			if v < cur {
				c.metrics.HeadClamped.WithLabelValues(c.Name).Inc()
			}
			return cur, v < cur
		}
		if c.served.CompareAndSwap(cur, v) {
			return v, false
		}
	}
}

// current reports whether n is part of the chain's topology (a removed
// node's checker may still report once while it stops).
func (c *Chain) current(n *node.Node) bool {
	t := c.topo.Load()
	return t != nil && t.byName[n.Name()] == n
}

// HeadChanged implements node.Observer.
func (c *Chain) HeadChanged(n *node.Node, head uint64) {
	if !c.current(n) {
		return
	}
	c.metrics.NodeHead.WithLabelValues(c.Name, n.Name()).Set(float64(head))
	c.recompute()
}

// StateChanged implements node.Observer.
func (c *Chain) StateChanged(n *node.Node, from, to node.State) {
	if !c.current(n) {
		return
	}
	c.metrics.NodeState.WithLabelValues(c.Name, n.Name(), from.String()).Set(0)
	c.metrics.NodeState.WithLabelValues(c.Name, n.Name(), to.String()).Set(1)
	c.log.Info("node state changed", "node", n.Name(), "from", from.String(), "to", to.String())
	c.recompute()
	if h := c.onState.Load(); h != nil {
		(*h)(c, n, from, to)
	}
}

// OnStateChange registers fn to hear every node state change (for the
// status page's history). fn must not block.
func (c *Chain) OnStateChange(fn func(c *Chain, n *node.Node, from, to node.State)) {
	c.onState.Store(&fn)
}

func (c *Chain) recompute() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recomputeLocked()
}

// recomputeLocked derives the best head from healthy nodes and refreshes
// the per-node lag gauges. Only healthy nodes count, so a dead node's old
// head cannot hold the best head up, and an unverified node cannot push it.
func (c *Chain) recomputeLocked() {
	t := c.topo.Load()
	var best uint64
	for _, n := range t.nodes {
		if n.Usable() && n.Head() > best {
			best = n.Head()
		}
	}
	c.best.Store(best)
	c.metrics.ChainHead.WithLabelValues(c.Name).Set(float64(best))
	for _, n := range t.nodes {
		c.metrics.NodeLag.WithLabelValues(c.Name, n.Name()).Set(float64(c.Lag(n)))
		up := 0.0
		if c.Selectable(n) {
			up = 1
		}
		c.metrics.NodeUp.WithLabelValues(c.Name, n.Name()).Set(up)
	}
	for gn, g := range t.groups {
		healthy := 0
		for _, n := range g.Nodes {
			if c.Selectable(n) {
				healthy++
			}
		}
		c.metrics.GroupHealthy.WithLabelValues(c.Name, gn).Set(float64(healthy))
	}
}
