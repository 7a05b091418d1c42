package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"time"

	"github.com/rpcgate/rpcgate/internal/admin"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/nodespec"
	"github.com/rpcgate/rpcgate/internal/registry"
	"github.com/rpcgate/rpcgate/internal/reputation"
)

// AddNode verifies a node (right chain, answering) like a config node and
// adds it to the chain and its groups; the change is stored in the
// registry so it survives restarts and reaches every replica. The node is
// judged by the config file's rules (nodespec, same messages), and may not
// point at the gateway itself, outside admin.allow_node_hosts, or at
// link-local and metadata addresses (nodeguard.go).
func (g *Gateway) AddNode(ctx context.Context, chain string, s admin.NodeSpec) error {
	c := g.chain(chain)
	if c == nil {
		return admin.ErrUnknownChain
	}
	spec := nodespec.Spec{Name: s.Name, URL: s.URL, WS: s.WS, Headers: s.Headers, Weight: s.Weight, Workers: s.Workers,
		Queue: s.Queue, MaxRequestBytes: s.MaxRequestBytes}
	spec.ApplyDefaults()
	if ps := spec.Validate(); len(ps) > 0 {
		return &admin.SpecError{Field: ps[0].Field, Problem: ps[0].String()}
	}
	e := registry.Entry{Chain: chain, Name: s.Name, URL: s.URL, WS: s.WS, Groups: s.Groups,
		Weight: s.Weight, Workers: s.Workers, Headers: s.Headers, Queue: s.Queue, MaxRequestBytes: s.MaxRequestBytes,
		Updated: time.Now().UTC()}
	if err := e.Validate(); err != nil {
		return &admin.InvalidError{Field: "body", Msg: err.Error()}
	}
	if c.Node(s.Name) != nil {
		return admin.ErrNodeExists
	}
	g.mu.Lock()
	cc := g.cfg.Chains[chain]
	allow := g.cfg.Admin.AllowNodeHosts
	g.mu.Unlock()
	for _, gr := range s.Groups {
		if _, ok := cc.Groups[gr]; !ok {
			return &admin.InvalidError{Field: "groups", Msg: fmt.Sprintf("chain %s has no group %q", chain, gr)}
		}
	}
	vctx, cancel := context.WithTimeout(ctx, cc.Health.ProbeTimeout.D()+time.Second)
	defer cancel()
	if err := g.checkTargets(vctx, spec, allow); err != nil {
		return err
	}
	probe := spec.Clone()
	probe.Workers = 1
	if _, err := node.Verify(vctx, probe, cc.ChainID, cc.Health.ProbeTimeout.D()); err != nil {
		return g.verifyFailed(chain, s.Name, err)
	}
	return g.put(ctx, e)
}

// verifyFailed is the admin answer for a node that failed verification:
// a wrong chain id is said as it is (it helps and reveals nothing), any
// other failure is "node unreachable", so the admin API cannot be used to
// tell closed ports from open ones. The kind goes to the log (never the
// URL, which may hold credentials).
func (g *Gateway) verifyFailed(chain, name string, err error) error {
	var wrong *node.WrongChainError
	if errors.As(err, &wrong) {
		return &admin.VerifyError{Err: err}
	}
	detail := "not a node error"
	if ne, ok := node.AsError(err); ok {
		detail = ne.Error()
	}
	g.log.Warn("admin add: node failed verification", "chain", chain, "node", name, "reason", detail)
	return &admin.VerifyError{Err: admin.ErrUnreachable}
}

// RemoveNode takes a node out of its chain: new requests stop going to it
// at once, in-flight ones finish.
func (g *Gateway) RemoveNode(ctx context.Context, chain, name string) error {
	c := g.chain(chain)
	if c == nil {
		return admin.ErrUnknownChain
	}
	if c.Node(name) == nil {
		return admin.ErrUnknownNode
	}
	g.mu.Lock()
	_, inConfig := g.cfg.Chains[chain].Nodes[name]
	g.mu.Unlock()
	if inConfig { // a tombstone hides the config's node
		return g.put(ctx, registry.Entry{Chain: chain, Name: name, Removed: true, Updated: time.Now().UTC()})
	}
	return g.del(ctx, chain, name)
}

// Drain parks a node: it takes no new requests, in-flight ones finish.
// With remove, the node is removed once its in-flight requests are done;
// otherwise it stays parked (across restarts) until Undrain.
func (g *Gateway) Drain(ctx context.Context, chain, name string, remove bool) error {
	if err := g.setParked(ctx, chain, name, true); err != nil {
		return err
	}
	if !remove {
		return nil
	}
	n := g.chain(chain).Node(name)
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for n.InFlight() > 0 {
			select {
			case <-g.ctx.Done():
				return
			case <-t.C:
			}
		}
		if err := g.RemoveNode(g.ctx, chain, name); err != nil && !errors.Is(err, admin.ErrUnknownNode) {
			g.log.Error("drained node could not be removed", "chain", chain, "node", name, "err", err)
		}
	}()
	return nil
}

// Undrain returns a parked node to service (after its health check).
func (g *Gateway) Undrain(ctx context.Context, chain, name string) error {
	return g.setParked(ctx, chain, name, false)
}

func (g *Gateway) setParked(ctx context.Context, chain, name string, parked bool) error {
	c := g.chain(chain)
	if c == nil {
		return admin.ErrUnknownChain
	}
	if c.Node(name) == nil {
		return admin.ErrUnknownNode
	}
	g.mu.Lock()
	e, found := registry.Entry{Chain: chain, Name: name}, false
	for _, x := range g.entries {
		if x.Chain == chain && x.Name == name {
			e, found = x, true
		}
	}
	g.mu.Unlock()
	e.Parked, e.Updated = parked, time.Now().UTC()
	if !parked && found && e.URL == "" && len(e.Groups) == 0 {
		return g.del(ctx, chain, name) // the entry only parked a config node
	}
	return g.put(ctx, e)
}

// put stores an entry and applies it here at once (the registry's watch
// brings the same change to the other replicas, and again here, where it
// changes nothing).
func (g *Gateway) put(ctx context.Context, e registry.Entry) error {
	if err := g.store.Put(ctx, e); err != nil {
		return fmt.Errorf("node registry: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	entries := make([]registry.Entry, 0, len(g.entries)+1)
	for _, x := range g.entries {
		if x.Chain != e.Chain || x.Name != e.Name {
			entries = append(entries, x)
		}
	}
	return g.applyLocked(g.cfg, append(entries, e))
}

func (g *Gateway) del(ctx context.Context, chain, name string) error {
	if err := g.store.Delete(ctx, chain, name); err != nil {
		return fmt.Errorf("node registry: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	entries := make([]registry.Entry, 0, len(g.entries))
	for _, x := range g.entries {
		if x.Chain != chain || x.Name != name {
			entries = append(entries, x)
		}
	}
	return g.applyLocked(g.cfg, entries)
}

func (g *Gateway) chain(name string) *fleet.Chain {
	for _, c := range g.Chains() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// NodeView is a node's live state for the admin API.
type NodeView struct {
	Name         string   `json:"name"`
	URL          string   `json:"url"`    // credentials redacted
	Source       string   `json:"source"` // config, runtime (admin API) or orchestrator
	Groups       []string `json:"groups"`
	State        string   `json:"state"`
	Head         uint64   `json:"head"`
	Lag          uint64   `json:"lag"`
	LatencyP50Ms float64  `json:"latency_p50_ms"`
	LatencyP99Ms float64  `json:"latency_p99_ms"`
	ErrorRate    float64  `json:"error_rate"`
	InFlight     int64    `json:"in_flight"`
	Weight       float64  `json:"weight"`
	Workers      int      `json:"workers"`
	// Score is the node's reputation on the chain (1 neutral); Reputation
	// has its dispute counts and quarantine.
	Score      float64         `json:"score"`
	Reputation reputation.View `json:"reputation"`
}

// ChainView is a chain's live state for the admin API.
type ChainView struct {
	Name     string     `json:"name"`
	ChainID  uint64     `json:"chain_id"`
	BestHead uint64     `json:"best_head"`
	Nodes    []NodeView `json:"nodes"`
}

// View lists every chain and node with live state (admin.Fleet).
func (g *Gateway) View() any { return g.ChainViews() }

// ChainViews lists every chain and node with live state.
func (g *Gateway) ChainViews() []ChainView {
	g.mu.Lock()
	runtime := map[string]string{} // chain/name → source of a node an entry added
	for _, e := range g.entries {
		if e.URL != "" {
			runtime[e.Chain+"/"+e.Name] = cmp.Or(e.Source, "runtime")
		}
	}
	g.mu.Unlock()
	var out []ChainView
	for _, c := range g.Chains() {
		cv := ChainView{Name: c.Name, ChainID: c.ID(), BestHead: c.BestHead(), Nodes: []NodeView{}}
		for _, n := range c.Nodes() {
			src := cmp.Or(runtime[c.Name+"/"+n.Name()], "config")
			rv := c.Reputation().View(n.Name())
			cv.Nodes = append(cv.Nodes, NodeView{
				Name: n.Name(), URL: redact(n.Spec().URL), Source: src, Groups: c.GroupsOf(n.Name()),
				State: c.StateOf(n), Head: n.Head(), Lag: c.Lag(n),
				LatencyP50Ms: ms(n.LatencyQuantile(0.5)), LatencyP99Ms: ms(n.LatencyQuantile(0.99)),
				ErrorRate: n.ErrorRate(), InFlight: n.InFlight(), Weight: c.Weight(n), Workers: n.Spec().Workers,
				Score: rv.Score, Reputation: rv,
			})
		}
		out = append(out, cv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// redact drops userinfo, query and fragment (where credentials live).
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid url)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

var _ admin.Fleet = (*Gateway)(nil)

// ClearQuarantine ends a node's quarantine now (this replica only: scores
// are each replica's own view).
func (g *Gateway) ClearQuarantine(_ context.Context, chain, name string) (bool, error) {
	c := g.chain(chain)
	if c == nil {
		return false, admin.ErrUnknownChain
	}
	if c.Node(name) == nil {
		return false, admin.ErrUnknownNode
	}
	return c.ClearQuarantine(name), nil
}
