package gateway

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/nodespec"
	"github.com/rpcgate/rpcgate/internal/orchestrator"
	"github.com/rpcgate/rpcgate/internal/registry"
	"github.com/rpcgate/rpcgate/internal/status"
)

// The gateway side of the orchestrator (internal/orchestrator.Fleet): nodes
// that joined by themselves go through the admin add path's rules
// (nodespec, target guards) and the registry, marked with the source
// "orchestrator", so every replica sharing the registry uses them.

// orchestrated adapts the gateway to orchestrator.Fleet.
type orchestrated struct{ g *Gateway }

var _ orchestrator.Fleet = orchestrated{}

func (o orchestrated) ChainNames() []string {
	var out []string
	for _, c := range o.g.Chains() {
		out = append(out, c.Name)
	}
	return out
}

func (o orchestrated) Known(chain, name string) bool {
	c := o.g.chain(chain)
	return c != nil && c.Node(name) != nil
}

// ObserveHead raises the node's head from its own report, by at most one
// block above the chain's best: a report can announce the next block
// before the poll sees it, but cannot make every other node look behind.
func (o orchestrated) ObserveHead(chain, name string, h uint64) {
	c := o.g.chain(chain)
	if c == nil {
		return
	}
	if n := c.Node(name); n != nil && h <= c.BestHead()+1 {
		n.ObserveHead(h)
	}
}

// Chain gives the chain's id, max_lag, best head, and its serving nodes
// (state ok, not on probation) as references, config nodes first.
func (o orchestrated) Chain(name string) (orchestrator.ChainInfo, bool) {
	g := o.g
	c := g.chain(name)
	if c == nil {
		return orchestrator.ChainInfo{}, false
	}
	g.mu.Lock()
	cc := g.cfg.Chains[name]
	weak := map[string]bool{}   // orchestrator nodes still on probation
	joined := map[string]bool{} // orchestrator nodes
	for _, e := range g.entries {
		if e.Chain == name && e.Source == registry.SourceOrchestrator {
			joined[e.Name] = true
			weak[e.Name] = e.Weight <= 1
		}
	}
	g.mu.Unlock()
	info := orchestrator.ChainInfo{ChainID: cc.ChainID, BestHead: c.BestHead()}
	if cc.MaxLag != nil {
		info.MaxLag = *cc.MaxLag
	}
	var late []nodespec.Spec
	for _, n := range c.Nodes() {
		if c.StateOf(n) != fleet.StateOK || weak[n.Name()] {
			continue
		}
		if joined[n.Name()] {
			late = append(late, n.Spec())
		} else {
			info.References = append(info.References, n.Spec())
		}
	}
	info.References = append(info.References, late...)
	return info, true
}

// Guard runs the admin add path's target checks, and refuses a name a
// config or admin node holds.
func (o orchestrated) Guard(ctx context.Context, chain string, spec nodespec.Spec) error {
	g := o.g
	if err := o.nameFree(chain, spec.Name); err != nil {
		return err
	}
	g.mu.Lock()
	allow := g.cfg.Admin.AllowNodeHosts
	g.mu.Unlock()
	return g.checkTargets(ctx, spec, allow)
}

// nameFree refuses a name held by a node that is not the orchestrator's.
func (o orchestrated) nameFree(chain, name string) error {
	g := o.g
	g.mu.Lock()
	defer g.mu.Unlock()
	cc := g.cfg.Chains[chain]
	if cc == nil {
		return fmt.Errorf("unknown chain %s", chain)
	}
	src := ""
	if _, ok := cc.Nodes[name]; ok {
		src = "config file"
	}
	for _, e := range g.entries {
		if e.Chain == chain && e.Name == name {
			if e.Source == registry.SourceOrchestrator {
				return nil // its own node (a rejoin) replaces the config's too
			}
			if e.Removed && src != "" {
				src = "" // a removed config node: the name is free
			} else if e.URL != "" {
				src = "admin API"
			}
		}
	}
	if src != "" {
		return &orchestrator.NameTakenError{Chain: chain, Name: name, Source: src}
	}
	return nil
}

// Admit stores the node with the source marker and applies it here at once.
func (o orchestrated) Admit(ctx context.Context, chain string, spec nodespec.Spec) error {
	if err := o.nameFree(chain, spec.Name); err != nil {
		return err
	}
	e := registry.Entry{Chain: chain, Name: spec.Name, URL: spec.URL, WS: spec.WS, Weight: spec.Weight,
		Workers: spec.Workers, Headers: spec.Headers, Queue: spec.Queue, MaxRequestBytes: spec.MaxRequestBytes,
		Source: registry.SourceOrchestrator, Updated: time.Now().UTC()}
	if err := e.Validate(); err != nil {
		return err
	}
	return o.g.put(ctx, e)
}

// Retire parks the orchestrator's node, waits until nothing is in flight
// to it, and deletes its entry, unless the node was admitted again
// meanwhile (its entry is no longer parked).
func (o orchestrated) Retire(ctx context.Context, chain, name string) error {
	g := o.g
	e, ok := o.entry(chain, name)
	if !ok {
		return nil
	}
	e.Parked, e.Updated = true, time.Now().UTC()
	if err := g.put(ctx, e); err != nil {
		return err
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		var n *node.Node
		if c := g.chain(chain); c != nil {
			n = c.Node(name)
		}
		if n == nil || n.InFlight() == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	if cur, ok := o.entry(chain, name); !ok || !cur.Parked {
		return nil // admitted again while draining: it stays
	}
	return g.del(ctx, chain, name)
}

func (o orchestrated) entry(chain, name string) (registry.Entry, bool) {
	g := o.g
	g.mu.Lock()
	defer g.mu.Unlock()
	i := slices.IndexFunc(g.entries, func(e registry.Entry) bool {
		return e.Chain == chain && e.Name == name && e.Source == registry.SourceOrchestrator
	})
	if i < 0 {
		return registry.Entry{}, false
	}
	return g.entries[i], true
}

// nodeReport is what a node reported about itself to the orchestrator,
// for the status page.
func (g *Gateway) nodeReport(chain, name string) (status.NodeReport, bool) {
	if g.orch == nil {
		return status.NodeReport{}, false
	}
	client, peers, pending, ok := g.orch.NodeReport(chain, name)
	return status.NodeReport{Client: client, Peers: peers, Pending: pending}, ok
}
