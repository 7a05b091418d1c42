package fleet

import "github.com/rpcgate/rpcgate/internal/node"

// Restrict returns a view of g that tries nodes first (a client session's
// subset, or the node that took its write) and falls back to g itself, so
// a call is never failed only because the preferred nodes are down. The
// view shares g's retry counter; moving from the view to g is not counted
// as a fallback. The view keeps g's consensus policy and feeds g's latency
// window, but does not hedge: a hedge would race the read outside the pin
// (a read-your-writes read answered first by a node that has not seen the
// write); after a failure the call still moves on to g. It is built per
// call and never stored.
func (g *Group) Restrict(nodes []*node.Node) *Group {
	h := g.Hedge
	h.Off = true
	return &Group{Name: g.Name, Nodes: nodes, Fallback: g, Hedge: h, Consensus: g.Consensus, lat: g.lat,
		chain: g.chain, metrics: g.metrics, retries: g.retries, fallbackC: nil}
}
