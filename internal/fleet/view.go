package fleet

import "github.com/rpcgate/rpcgate/internal/node"

// Restrict returns a view of g that tries nodes first (a client session's
// subset, or the node that took its write) and falls back to g itself, so
// a call is never failed only because the preferred nodes are down. The
// view shares g's retry counter; moving from the view to g is not counted
// as a fallback. The view keeps g's relaying policy (hedging, consensus)
// and feeds g's latency window. It is built per call and never stored.
func (g *Group) Restrict(nodes []*node.Node) *Group {
	return &Group{Name: g.Name, Nodes: nodes, Fallback: g, Hedge: g.Hedge, Consensus: g.Consensus, lat: g.lat,
		chain: g.chain, metrics: g.metrics, retries: g.retries, fallbackC: nil}
}
