package fleet

// Topology: what a chain is made of (settings, nodes, groups), built from
// a Spec by Apply and read by requests as one immutable snapshot.

import (
	"fmt"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/consensus"
	"github.com/rpcgate/rpcgate/internal/evm"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/nodespec"
	"github.com/rpcgate/rpcgate/internal/route"
	"github.com/rpcgate/rpcgate/internal/schedule"
	"github.com/rpcgate/rpcgate/internal/telemetry"
)

// Spec is the effective description of a chain: its config with the
// run-time node changes already merged in.
type Spec struct {
	// Chain supplies the settings and the groups' methods and fallbacks.
	Chain *config.Chain
	// Nodes is the effective node set; Groups maps each group to its
	// effective node names; Parked names nodes that take no traffic.
	Nodes  map[string]nodespec.Spec
	Groups map[string][]string
	Parked map[string]bool
	Limits config.Limits
}

// SpecOf is the Spec of a chain exactly as its config describes it.
func SpecOf(cc *config.Chain, limits config.Limits) Spec {
	s := Spec{Chain: cc, Nodes: map[string]nodespec.Spec{}, Groups: map[string][]string{}, Limits: limits}
	for n, nc := range cc.Nodes {
		s.Nodes[n] = nc.Spec(n)
	}
	for g, gc := range cc.Groups {
		s.Groups[g] = gc.Nodes
	}
	return s
}

type topology struct {
	id             uint64
	maxLag         uint64
	timeout        time.Duration
	maxAttempts    int
	methodTimeouts map[string]time.Duration
	writes         map[string]struct{}
	methods        *route.Methods
	nodes          []*node.Node // sorted by name
	byName         map[string]*node.Node
	groups         map[string]*Group
	specs          map[string]nodeSpec
	named          map[string]struct{} // methods the config names (metric labels)
	keys           string
}

func (t *topology) group(name string) *Group {
	if t == nil {
		return nil
	}
	return t.groups[name]
}

// nodeSpec is everything a node is built from; a node whose spec is
// unchanged survives Apply with its health and latency state.
type nodeSpec struct {
	spec nodespec.Spec
	opts node.Options
}

// Group is a set of nodes serving some methods, with an optional fallback.
type Group struct {
	Name     string
	Nodes    []*node.Node
	Fallback *Group

	// Hedge and Consensus are the group's relaying policy (relaying.go).
	Hedge     HedgePolicy
	Consensus *consensus.Set

	lat       *latencies
	chain     string
	metrics   *telemetry.Metrics
	byMethod  sync.Map // method → *[outcomes]prometheus.Counter
	retries   prometheus.Counter
	fallbackC prometheus.Counter
}

// Apply makes spec the chain's topology. Nodes whose config is unchanged
// are kept as they are (health, head, latency, in-flight requests); new
// nodes are verified by their checker before use; removed nodes stop being
// selected at once while their in-flight requests finish.
func (c *Chain) Apply(spec Spec) error {
	parked, err := c.apply(spec)
	if err != nil {
		return err
	}
	// Parking changes node state, and state changes call back into the
	// chain (best head, history), so they happen outside c.mu.
	for n, on := range parked {
		n.SetDraining(on)
	}
	return nil
}

func (c *Chain) apply(spec Spec) (map[*node.Node]bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc := spec.Chain
	old := c.topo.Load()
	t := &topology{
		id:             cc.ChainID,
		maxLag:         cc.Lag(),
		timeout:        cc.Timeout.D(),
		maxAttempts:    max(cc.MaxAttempts, 1),
		methodTimeouts: map[string]time.Duration{},
		writes:         map[string]struct{}{},
		byName:         map[string]*node.Node{},
		groups:         map[string]*Group{},
		specs:          map[string]nodeSpec{},
		named:          map[string]struct{}{},
		keys:           cc.Keys,
	}
	for meth, d := range cc.MethodTimeouts {
		t.methodTimeouts[meth] = d.D()
		t.named[meth] = struct{}{}
	}
	for _, w := range cc.Writes {
		t.writes[w] = struct{}{}
		t.named[w] = struct{}{}
	}
	var added []*node.Node
	parked := map[*node.Node]bool{}
	for _, name := range sortedKeys(spec.Nodes) {
		ns := nodeSpec{spec: spec.Nodes[name], opts: node.Options{
			Chain:             c.Name,
			ChainID:           cc.ChainID,
			PollInterval:      cc.PollInterval.D(),
			ProbeTimeout:      cc.Health.ProbeTimeout.D(),
			FailThreshold:     cc.Health.FailThreshold,
			BackoffMin:        cc.Health.BackoffMin.D(),
			BackoffMax:        cc.Health.BackoffMax.D(),
			MaxResponseBytes:  spec.Limits.MaxResponseBytes,
			MaxRequestBytes:   spec.Nodes[name].MaxRequestBytes,
			AttemptTimeoutMin: cc.AttemptTimeout.Min.D(),
			AttemptTimeoutMax: cc.AttemptTimeout.Max.D(),
			Schedule:          policyOf(cc.Scheduling),
		}}
		ns.spec.Name = name // the map's key names the node
		var n *node.Node
		if old != nil && old.byName[name] != nil && reflect.DeepEqual(old.specs[name], ns) {
			n = old.byName[name]
		} else {
			opts := ns.opts
			opts.Logger, opts.Observer = c.log, c
			var err error
			if n, err = node.New(ns.spec, opts); err != nil {
				return nil, fmt.Errorf("chain %s node %s: %w", c.Name, name, err)
			}
			added = append(added, n)
		}
		parked[n] = spec.Parked[name]
		t.nodes = append(t.nodes, n)
		t.byName[name] = n
		t.specs[name] = ns
	}
	claims := map[string][]string{}
	for gn, gc := range cc.Groups {
		g := &Group{Name: gn, chain: c.Name, metrics: c.metrics, lat: &latencies{}}
		g.relaying(cc, gc)
		if og := old.group(gn); og != nil {
			g.lat = og.lat
			g.byMethod = sync.Map{}
			og.byMethod.Range(func(k, v any) bool { g.byMethod.Store(k, v); return true })
		}
		for _, nn := range spec.Groups[gn] {
			n, ok := t.byName[nn]
			if !ok {
				return nil, fmt.Errorf("chain %s group %s: unknown node %q", c.Name, gn, nn)
			}
			g.Nodes = append(g.Nodes, n)
		}
		g.retries = c.metrics.Retries.WithLabelValues(c.Name, gn)
		t.groups[gn] = g
		if gn != "default" {
			claims[gn] = gc.Methods
			for _, m := range gc.Methods {
				t.named[m] = struct{}{}
			}
		}
	}
	for gn, gc := range cc.Groups {
		if gc.Fallback == "" {
			continue
		}
		fb, ok := t.groups[gc.Fallback]
		if !ok {
			return nil, fmt.Errorf("chain %s group %s: unknown fallback %q", c.Name, gn, gc.Fallback)
		}
		t.groups[gn].Fallback = fb
		t.groups[gn].fallbackC = c.metrics.Fallbacks.WithLabelValues(c.Name, gn, fb.Name)
	}
	if _, ok := t.groups["default"]; !ok {
		return nil, fmt.Errorf("chain %s: no default group", c.Name)
	}
	t.methods = route.NewMethods(claims, "default", cc.Methods.Allow, cc.Methods.Deny)
	c.configureRelaying(cc)
	c.rep.Forget(func(n string) bool { return t.byName[n] != nil })
	c.topo.Store(t)

	for _, n := range added {
		c.metrics.NodeState.WithLabelValues(c.Name, n.Name(), n.State().String()).Set(1)
		c.startLocked(n)
	}
	if old != nil {
		for _, n := range old.nodes {
			if t.byName[n.Name()] != n {
				c.stopLocked(n)
				c.forgetMetrics(n.Name(), t)
			}
		}
	}
	c.recomputeLocked()
	return parked, nil
}

// policyOf turns a chain's scheduling config into the slots' policy.
func policyOf(s config.Scheduling) schedule.Policy {
	p := schedule.Policy{FastTrackPerHigh: s.FastTrackPerHigh, LowShare: s.LowShare, LowAfter: s.LowAfter.D()}
	p.Queue[schedule.FastTrack] = s.Queue.FastTrack
	p.Queue[schedule.High] = s.Queue.High
	p.Queue[schedule.Low] = s.Queue.Low
	return p
}

// ID is the chain id every node must report.
func (c *Chain) ID() uint64 { return c.topo.Load().id }

// Nodes returns the chain's nodes sorted by name.
func (c *Chain) Nodes() []*node.Node { return c.topo.Load().nodes }

// Node returns the node called name, or nil.
func (c *Chain) Node(name string) *node.Node { return c.topo.Load().byName[name] }

// GroupsOf lists the groups a node serves, sorted.
func (c *Chain) GroupsOf(name string) []string {
	var out []string
	for gn, g := range c.topo.Load().groups {
		for _, n := range g.Nodes {
			if n.Name() == name {
				out = append(out, gn)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// GroupNodes returns each group's nodes.
func (c *Chain) GroupNodes() map[string][]*node.Node {
	t := c.topo.Load()
	out := make(map[string][]*node.Node, len(t.groups))
	for gn, g := range t.groups {
		out[gn] = g.Nodes
	}
	return out
}

// Group returns the group serving method.
func (c *Chain) Group(method string) *Group {
	t := c.topo.Load()
	return t.groups[t.methods.Group(method)]
}

// GroupNamed returns the group called name, or nil (a chain's ws_group).
func (c *Chain) GroupNamed(name string) *Group { return c.topo.Load().group(name) }

// MetricMethod bounds a method name for metric labels: known Ethereum
// methods and methods the config names keep their name, anything else is
// "other", so clients cannot create series at will.
func (c *Chain) MetricMethod(method string) string {
	if jsonrpc.IsKnownMethod(method) {
		return method
	}
	if _, ok := c.topo.Load().named[method]; ok {
		return method
	}
	return "other"
}

// Allowed applies the chain's allow/deny policy.
func (c *Chain) Allowed(method string) bool { return c.topo.Load().methods.Allowed(method) }

// IsWrite reports whether method changes state (never sent twice).
func (c *Chain) IsWrite(method string) bool {
	if evm.IsWrite(method) {
		return true
	}
	_, ok := c.topo.Load().writes[method]
	return ok
}

// TimeoutFor returns the deadline for method.
func (c *Chain) TimeoutFor(method string) time.Duration {
	t := c.topo.Load()
	if d, ok := t.methodTimeouts[method]; ok {
		return d
	}
	return t.timeout
}

// Timeout is the chain's default call deadline.
func (c *Chain) Timeout() time.Duration { return c.topo.Load().timeout }

// MaxAttempts is how many nodes one call may be tried on.
func (c *Chain) MaxAttempts() int { return c.topo.Load().maxAttempts }

// KeysMode is the chain's "keys" setting: "optional" or "required".
func (c *Chain) KeysMode() string { return c.topo.Load().keys }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
