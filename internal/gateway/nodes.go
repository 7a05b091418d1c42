package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"time"

	"github.com/rpcgate/rpcgate/internal/admin"
	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/registry"
)

// AddNode verifies a node (right chain, answering) like a config node and
// adds it to the chain and its groups; the change is stored in the
// registry so it survives restarts and reaches every replica.
func (g *Gateway) AddNode(ctx context.Context, chain string, s admin.NodeSpec) error {
	c := g.chain(chain)
	if c == nil {
		return admin.ErrUnknownChain
	}
	if err := validateSpec(s); err != nil {
		return err
	}
	e := registry.Entry{Chain: chain, Name: s.Name, URL: s.URL, WS: s.WS, Groups: s.Groups,
		Weight: s.Weight, Workers: s.Workers, Headers: s.Headers, Updated: time.Now().UTC()}
	if err := e.Validate(); err != nil {
		return &admin.InvalidError{Field: "body", Msg: err.Error()}
	}
	if c.Node(s.Name) != nil {
		return admin.ErrNodeExists
	}
	g.mu.Lock()
	cc := g.cfg.Chains[chain]
	g.mu.Unlock()
	for _, gr := range s.Groups {
		if _, ok := cc.Groups[gr]; !ok {
			return &admin.InvalidError{Field: "groups", Msg: fmt.Sprintf("chain %s has no group %q", chain, gr)}
		}
	}
	vctx, cancel := context.WithTimeout(ctx, cc.Health.ProbeTimeout.D()+time.Second)
	defer cancel()
	if _, err := node.Verify(vctx, s.Name, config.Node{URL: s.URL, Headers: s.Headers, Workers: 1}, cc.ChainID, cc.Health.ProbeTimeout.D()); err != nil {
		return &admin.VerifyError{Err: err}
	}
	return g.put(ctx, e)
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

var nodeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)

// validate checks each field and names the first wrong one.
func validateSpec(s admin.NodeSpec) error {
	switch {
	case s.Name == "":
		return &admin.InvalidError{Field: "name", Msg: "is required"}
	case !nodeName.MatchString(s.Name):
		return &admin.InvalidError{Field: "name", Msg: "must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"}
	case s.URL == "":
		return &admin.InvalidError{Field: "url", Msg: "is required"}
	case !hasScheme(s.URL, "http", "https"):
		return &admin.InvalidError{Field: "url", Msg: "must be an http:// or https:// URL with a host"}
	case s.WS != "" && !hasScheme(s.WS, "ws", "wss"):
		return &admin.InvalidError{Field: "ws", Msg: "must be a ws:// or wss:// URL with a host"}
	case s.Weight < 0:
		return &admin.InvalidError{Field: "weight", Msg: "must be 0 (default 1) or more"}
	case s.Workers < 0:
		return &admin.InvalidError{Field: "workers", Msg: "must be 0 (default 32) or more"}
	}
	for k := range s.Headers {
		if k == "" {
			return &admin.InvalidError{Field: "headers", Msg: "header names must not be empty"}
		}
	}
	return nil
}

func hasScheme(raw string, schemes ...string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return true
		}
	}
	return false
}

// NodeView is a node's live state for the admin API.
type NodeView struct {
	Name         string   `json:"name"`
	URL          string   `json:"url"` // credentials redacted
	Source       string   `json:"source"`
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
	runtime := map[string]bool{}
	for _, e := range g.entries {
		if e.URL != "" {
			runtime[e.Chain+"/"+e.Name] = true
		}
	}
	g.mu.Unlock()
	var out []ChainView
	for _, c := range g.Chains() {
		cv := ChainView{Name: c.Name, ChainID: c.ID(), BestHead: c.BestHead(), Nodes: []NodeView{}}
		for _, n := range c.Nodes() {
			src := "config"
			if runtime[c.Name+"/"+n.Name()] {
				src = "runtime"
			}
			cv.Nodes = append(cv.Nodes, NodeView{
				Name: n.Name(), URL: redact(n.Config().URL), Source: src, Groups: c.GroupsOf(n.Name()),
				State: StateOf(c, n), Head: n.Head(), Lag: c.Lag(n),
				LatencyP50Ms: ms(n.LatencyQuantile(0.5)), LatencyP99Ms: ms(n.LatencyQuantile(0.99)),
				ErrorRate: n.ErrorRate(), InFlight: n.InFlight(), Weight: n.Weight(), Workers: n.Config().Workers,
			})
		}
		out = append(out, cv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// StateOf names a node's state as operators see it: the health state,
// with "lagging" for a healthy node beyond max_lag.
func StateOf(c *fleet.Chain, n *node.Node) string {
	if n.Usable() && !c.Selectable(n) {
		return "lagging"
	}
	return n.State().String()
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
