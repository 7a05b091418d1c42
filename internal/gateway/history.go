package gateway

import (
	"context"
	"time"

	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/registry"
)

// recordState turns node state changes into up/down history for the
// status page's uptime and incidents. It runs on the node's goroutine, so
// it only queues; recordLoop writes to the store.
func (g *Gateway) recordState(c *fleet.Chain, n *node.Node, from, to node.State) {
	ev := registry.Event{Chain: c.Name, Node: n.Name(), At: time.Now().UTC()}
	switch to {
	case node.StateOK:
		ev.Up, ev.Reason = true, "healthy"
	case node.StateEjected:
		ev.Reason = "ejected after consecutive failures"
	case node.StateWrongChain:
		ev.Reason = "reports the wrong chain id"
	default: // unknown, draining: neither up nor down
		return
	}
	select {
	case g.events <- ev:
	default:
		g.log.Warn("node history queue full; event dropped", "chain", ev.Chain, "node", ev.Node, "up", ev.Up)
	}
}

// recordLoop stores queued history events until ctx ends.
func (g *Gateway) recordLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-g.events:
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := g.store.Record(rctx, ev); err != nil {
				g.log.Warn("node history not stored", "chain", ev.Chain, "node", ev.Node, "err", err)
			}
			cancel()
		}
	}
}

// seriesInterval is how often every node is sampled into the status
// page's uptime strips and latency charts (one store write per node).
const seriesInterval = time.Minute

// storeSeries is the store's bucketed history, nil when it has none.
func storeSeries(s registry.Store) registry.Series {
	if ss, ok := s.(registry.Series); ok {
		return ss
	}
	return nil
}
