package status

import (
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/node"
)

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
			maxLag := c.MaxLag()
			for _, n := range nodes {
				lag := c.Lag(n)
				nv := NodeView{Name: n.Name(), State: stateOf(n.State(), lag > maxLag), Head: n.Head(), Lag: lag,
					LatencyP50: n.LatencyQuantile(0.5), LatencyP99: n.LatencyQuantile(0.99),
					InFlight: n.InFlight(), ErrorRate: n.ErrorRate()}
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

func stateOf(s node.State, behind bool) string {
	switch s {
	case node.StateOK:
		if behind {
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
