package gateway

import (
	"context"
	"time"

	"github.com/rpcgate/rpcgate/internal/chainfeed"
	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/filters"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/wsgate"
)

// streams are the gateway's subscription machinery: one chain feed per
// chain, the gateway-held filters and the WebSocket adapter.
type streams struct {
	hub     *chainfeed.Hub
	filters *filters.Manager
	store   filters.Store
	gate    *wsgate.Gate
	wsGroup map[string]string // chain → ws_group; swapped under Gateway.mu
}

// newStreams builds the feeds and the filter stage; the WebSocket gate
// needs the public pipeline and is added by attach.
func (g *Gateway) newStreams(cfg *config.Config, exec *execute.Executor) (*streams, error) {
	st := &streams{hub: chainfeed.NewHub(exec, g.log, chainfeed.NewMetrics(g.metrics.Registry), chainfeed.Settings{})}
	if cfg.Registry.Redis != "" {
		r, err := filters.NewRedis(cfg.Registry.Redis, cfg.Registry.Prefix)
		if err != nil {
			return nil, err
		}
		st.store = r
	} else {
		st.store = filters.NewMemory(nil)
	}
	st.filters = filters.New(filters.Options{Hub: st.hub, Exec: exec, Store: st.store,
		MaxPerOwner: cfg.WebSocket.MaxFilters, Registry: g.metrics.Registry})
	return st, nil
}

// attach adds the WebSocket adapter to the public listener.
func (g *Gateway) attachWS(cfg *config.Config) {
	g.streams.gate = wsgate.New(wsgate.Options{Pipe: g.public.Pipeline(), Hub: g.streams.hub, Settings: cfg.WebSocket,
		MaxBatch: cfg.Limits.MaxBatch, WSGroup: g.wsGroupOf, Log: g.log, Metrics: wsgate.NewMetrics(g.metrics.Registry), Base: g.ctx})
	g.public.SetUpgrader(g.streams.gate)
}

func (g *Gateway) wsGroupOf(chain string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.streams.wsGroup[chain]
}

// applyStreamsLocked follows a new config and chain set (g.mu held).
func (g *Gateway) applyStreamsLocked(cfg *config.Config, chains []*fleet.Chain) {
	groups := map[string]string{}
	for name, c := range cfg.Chains {
		if c.WSGroup != "" {
			groups[name] = c.WSGroup
		}
	}
	g.streams.wsGroup = groups
	g.streams.hub.Sync(chains)
	g.streams.filters.SetMax(cfg.WebSocket.MaxFilters)
	if g.streams.gate != nil {
		g.streams.gate.SetSettings(cfg.WebSocket)
	}
}

// runStreams runs the feeds and sweeps expired filters until ctx ends.
func (g *Gateway) runStreams(ctx context.Context) {
	g.streams.hub.Start(ctx, g.Chains())
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			g.streams.hub.Stop()
			return
		case <-t.C:
			g.streams.filters.Sweep()
		}
	}
}

// closeStreams releases the filter store.
func (g *Gateway) closeStreams() {
	if r, ok := g.streams.store.(*filters.Redis); ok {
		_ = r.Close()
	}
}
