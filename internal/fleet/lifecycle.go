package fleet

// Lifecycle: node checkers start with the chain and stop with it, and a
// node that leaves the topology has its checker stopped and its series
// dropped.

import (
	"context"

	"github.com/rpcgate/rpcgate/internal/node"
)

// Start runs every node's checker until Stop.
func (c *Chain) Start(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ctx = ctx
	for _, n := range c.topo.Load().nodes {
		c.startLocked(n)
	}
}

func (c *Chain) startLocked(n *node.Node) {
	if c.ctx == nil || c.runs[n] != nil {
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	c.runs[n] = cancel
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		n.Run(ctx)
	}()
}

func (c *Chain) stopLocked(n *node.Node) {
	if cancel := c.runs[n]; cancel != nil {
		cancel()
		delete(c.runs, n)
	}
}

// Stop ends every checker and waits for them.
func (c *Chain) Stop() {
	c.mu.Lock()
	for n := range c.runs {
		c.stopLocked(n)
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// Warm reports that every node has had its first admission check, so the
// chain's view of its fleet is real rather than empty.
func (c *Chain) Warm() bool {
	for _, n := range c.topo.Load().nodes {
		if !n.Checked() {
			return false
		}
	}
	return true
}

// forgetMetrics drops the series of a node that left the chain, unless a
// node of the same name replaced it.
func (c *Chain) forgetMetrics(name string, t *topology) {
	if t.byName[name] != nil {
		return
	}
	c.metrics.NodeHead.DeleteLabelValues(c.Name, name)
	c.metrics.NodeLag.DeleteLabelValues(c.Name, name)
	c.metrics.NodeUp.DeleteLabelValues(c.Name, name)
	for s := node.StateUnknown; s <= node.StateDraining; s++ {
		c.metrics.NodeState.DeleteLabelValues(c.Name, name, s.String())
	}
}
