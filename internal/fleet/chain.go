// Package fleet is the live state of each chain: its nodes, its groups and
// its best head. It turns config (plus run-time changes) into running nodes,
// applies changes without disturbing unchanged nodes, and keeps the facts
// selection needs (heads, lag) current as nodes report.
package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/evm"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/node"
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
	Nodes  map[string]config.Node
	Groups map[string][]string
	Parked map[string]bool
	Limits config.Limits
}

// SpecOf is the Spec of a chain exactly as its config describes it.
func SpecOf(cc *config.Chain, limits config.Limits) Spec {
	s := Spec{Chain: cc, Nodes: map[string]config.Node{}, Groups: map[string][]string{}, Limits: limits}
	for n, nc := range cc.Nodes {
		s.Nodes[n] = *nc
	}
	for g, gc := range cc.Groups {
		s.Groups[g] = gc.Nodes
	}
	return s
}

// Chain is one served chain. Its topology (settings, nodes, groups) is an
// immutable snapshot swapped atomically by Apply, so a request sees one
// consistent view and in-flight requests keep the nodes they hold.
type Chain struct {
	Name string

	log     *slog.Logger
	metrics *telemetry.Metrics
	topo    atomic.Pointer[topology]

	best   atomic.Uint64 // best head among healthy nodes
	served atomic.Uint64 // highest eth_blockNumber answered

	mu   sync.Mutex // serialises Apply, checker start/stop and recompute
	ctx  context.Context
	runs map[*node.Node]context.CancelFunc
	wg   sync.WaitGroup

	onState atomic.Pointer[func(c *Chain, n *node.Node, from, to node.State)]
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
	cfg  config.Node
	opts node.Options
}

// Group is a set of nodes serving some methods, with an optional fallback.
type Group struct {
	Name     string
	Nodes    []*node.Node
	Fallback *Group

	chain     string
	metrics   *telemetry.Metrics
	byMethod  sync.Map // method → *[outcomes]prometheus.Counter
	retries   prometheus.Counter
	fallbackC prometheus.Counter
}

// NewChain builds a chain from its spec; checkers start with Start.
func NewChain(name string, spec Spec, log *slog.Logger, m *telemetry.Metrics) (*Chain, error) {
	c := &Chain{Name: name, log: log.With("chain", name), metrics: m, runs: map[*node.Node]context.CancelFunc{}}
	if err := c.Apply(spec); err != nil {
		return nil, err
	}
	return c, nil
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
		ns := nodeSpec{cfg: spec.Nodes[name], opts: node.Options{
			Chain:            c.Name,
			ChainID:          cc.ChainID,
			PollInterval:     cc.PollInterval.D(),
			ProbeTimeout:     cc.Health.ProbeTimeout.D(),
			FailThreshold:    cc.Health.FailThreshold,
			BackoffMin:       cc.Health.BackoffMin.D(),
			BackoffMax:       cc.Health.BackoffMax.D(),
			MaxResponseBytes: spec.Limits.MaxResponseBytes,
			Schedule:         policyOf(cc.Scheduling),
		}}
		ns.opts.AttemptTimeoutMin, ns.opts.AttemptTimeoutMax = cc.AttemptTimeout.Min.D(), cc.AttemptTimeout.Max.D()
		var n *node.Node
		if old != nil && old.byName[name] != nil && reflect.DeepEqual(old.specs[name], ns) {
			n = old.byName[name]
		} else {
			opts := ns.opts
			opts.Logger, opts.Observer = c.log, c
			var err error
			if n, err = node.New(name, ns.cfg, opts); err != nil {
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
		g := &Group{Name: gn, chain: c.Name, metrics: c.metrics}
		if og := old.group(gn); og != nil {
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

// Start runs every node's checker until Stop.
func (c *Chain) Start(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ctx = ctx
	for _, n := range c.topo.Load().nodes {
		c.startLocked(n)
	}
}

func (c *Chain) startLocked(n *node.Node) {
	if c.ctx == nil || c.runs[n] != nil {
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	c.runs[n] = cancel
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		n.Run(ctx)
	}()
}

func (c *Chain) stopLocked(n *node.Node) {
	if cancel := c.runs[n]; cancel != nil {
		cancel()
		delete(c.runs, n)
	}
}

// Stop ends every checker and waits for them.
func (c *Chain) Stop() {
	c.mu.Lock()
	for n := range c.runs {
		c.stopLocked(n)
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// forgetMetrics drops the series of a node that left the chain, unless a
// node of the same name replaced it.
func (c *Chain) forgetMetrics(name string, t *topology) {
	if t.byName[name] != nil {
		return
	}
	c.metrics.NodeHead.DeleteLabelValues(c.Name, name)
	c.metrics.NodeLag.DeleteLabelValues(c.Name, name)
	c.metrics.NodeUp.DeleteLabelValues(c.Name, name)
	for s := node.StateUnknown; s <= node.StateDraining; s++ {
		c.metrics.NodeState.DeleteLabelValues(c.Name, name, s.String())
	}
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

// Warm reports that every node has had its first admission check, so the
// chain's view of its fleet is real rather than empty.
func (c *Chain) Warm() bool {
	for _, n := range c.topo.Load().nodes {
		if !n.Checked() {
			return false
		}
	}
	return true
}

// Group returns the group serving method.
func (c *Chain) Group(method string) *Group {
	t := c.topo.Load()
	return t.groups[t.methods.Group(method)]
}

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

// MaxLag is how far behind the best head a node may be and still serve.
func (c *Chain) MaxLag() uint64 { return c.topo.Load().maxLag }

// BestHead is the highest head among healthy nodes.
func (c *Chain) BestHead() uint64 { return c.best.Load() }

// Lag is how far n is behind the best head.
func (c *Chain) Lag(n *node.Node) uint64 {
	b, h := c.best.Load(), n.Head()
	if h >= b {
		return 0
	}
	return b - h
}

// Selectable reports a node that is healthy and within max_lag.
func (c *Chain) Selectable(n *node.Node) bool {
	return n.Usable() && c.Lag(n) <= c.MaxLag()
}

// ServeBlockNumber returns the block number to answer eth_blockNumber
// with, given a node's answer: never lower than one already served.
func (c *Chain) ServeBlockNumber(v uint64) (uint64, bool) {
	for {
		cur := c.served.Load()
		if v <= cur {
			if v < cur {
				c.metrics.HeadClamped.WithLabelValues(c.Name).Inc()
			}
			return cur, v < cur
		}
		if c.served.CompareAndSwap(cur, v) {
			return v, false
		}
	}
}

// current reports whether n is part of the chain's topology (a removed
// node's checker may still report once while it stops).
func (c *Chain) current(n *node.Node) bool {
	t := c.topo.Load()
	return t != nil && t.byName[n.Name()] == n
}

// HeadChanged implements node.Observer.
func (c *Chain) HeadChanged(n *node.Node, head uint64) {
	if !c.current(n) {
		return
	}
	c.metrics.NodeHead.WithLabelValues(c.Name, n.Name()).Set(float64(head))
	c.recompute()
}

// StateChanged implements node.Observer.
func (c *Chain) StateChanged(n *node.Node, from, to node.State) {
	if !c.current(n) {
		return
	}
	c.metrics.NodeState.WithLabelValues(c.Name, n.Name(), from.String()).Set(0)
	c.metrics.NodeState.WithLabelValues(c.Name, n.Name(), to.String()).Set(1)
	c.log.Info("node state changed", "node", n.Name(), "from", from.String(), "to", to.String())
	c.recompute()
	if h := c.onState.Load(); h != nil {
		(*h)(c, n, from, to)
	}
}

// OnStateChange registers fn to hear every node state change (for the
// status page's history). fn must not block.
func (c *Chain) OnStateChange(fn func(c *Chain, n *node.Node, from, to node.State)) {
	c.onState.Store(&fn)
}

func (c *Chain) recompute() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recomputeLocked()
}

// recomputeLocked derives the best head from healthy nodes and refreshes
// the per-node lag gauges. Only healthy nodes count, so a dead node's old
// head cannot hold the best head up, and an unverified node cannot push it.
func (c *Chain) recomputeLocked() {
	t := c.topo.Load()
	var best uint64
	for _, n := range t.nodes {
		if n.Usable() && n.Head() > best {
			best = n.Head()
		}
	}
	c.best.Store(best)
	c.metrics.ChainHead.WithLabelValues(c.Name).Set(float64(best))
	for _, n := range t.nodes {
		c.metrics.NodeLag.WithLabelValues(c.Name, n.Name()).Set(float64(c.Lag(n)))
		up := 0.0
		if c.Selectable(n) {
			up = 1
		}
		c.metrics.NodeUp.WithLabelValues(c.Name, n.Name()).Set(up)
	}
	for gn, g := range t.groups {
		healthy := 0
		for _, n := range g.Nodes {
			if c.Selectable(n) {
				healthy++
			}
		}
		c.metrics.GroupHealthy.WithLabelValues(c.Name, gn).Set(float64(healthy))
	}
}

// policyOf turns a chain's scheduling config into the slots' policy.
func policyOf(s config.Scheduling) schedule.Policy {
	p := schedule.Policy{FastTrackPerHigh: s.FastTrackPerHigh, LowShare: s.LowShare, LowAfter: s.LowAfter.D()}
	p.Queue[schedule.FastTrack] = s.Queue.FastTrack
	p.Queue[schedule.High] = s.Queue.High
	p.Queue[schedule.Low] = s.Queue.Low
	return p
}

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
