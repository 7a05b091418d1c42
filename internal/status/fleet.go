package status

import "github.com/rpcgate/rpcgate/internal/fleet"

// FleetSource turns the running chains into views. It reads only names,
// heads, states and counters: never a node's config, which holds its URL
// and headers.
//
// Latency and error rate are the node's recent figures (a decaying
// window of a few minutes), not lifetime totals.
func FleetSource(chains func() []*fleet.Chain) func() []ChainView {
	return func() []ChainView {
		cs := chains()
		out := make([]ChainView, 0, len(cs))
		for _, c := range cs {
			nodes := c.Nodes() // one topology snapshot
			cv := ChainView{Name: c.Name, BestHead: c.BestHead(), Total: len(nodes)}
			for _, n := range nodes {
				nv := NodeView{Name: n.Name(), State: c.StateOf(n), Head: n.Head(), Lag: c.Lag(n),
					LatencyP50: n.LatencyQuantile(0.5), LatencyP99: n.LatencyQuantile(0.99),
					InFlight: n.InFlight(), ErrorRate: n.ErrorRate(), Score: c.Reputation().View(n.Name()).Score}
				if c.Selectable(n) {
					cv.Up++
				}
				cv.Nodes = append(cv.Nodes, nv)
			}
			out = append(out, cv)
		}
		return out
	}
}
