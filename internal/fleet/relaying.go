package fleet

// Relaying: each group's hedge and consensus policy, the adaptive hedge
// delay, and the chain's reputation book and write broadcast.

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/consensus"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/reputation"
)

// The adaptive hedge delay is kept within these bounds.
const (
	HedgeMin = 20 * time.Millisecond
	HedgeMax = 2 * time.Second
)

// HedgePolicy is a group's hedging.
type HedgePolicy struct {
	Off   bool
	After time.Duration // 0: adaptive
	Max   int           // hedges beside the first attempt
}

func (g *Group) relaying(cc *config.Chain, gc *config.Group) {
	g.Hedge = HedgePolicy{Max: config.DefaultHedgeMax}
	if h := gc.Hedge; h != nil {
		g.Hedge = HedgePolicy{Off: h.Off, After: h.After.D(), Max: max(h.Max, 1)}
	}
	cons := gc.Consensus
	if cons == nil {
		cons = cc.Consensus
	}
	g.Consensus = consensus.Compile(cons)
}

func (c *Chain) configureRelaying(cc *config.Chain) {
	r := cc.Reputation
	c.rep.Configure(reputation.Settings{QuarantineAfter: r.QuarantineAfter, CoolOff: r.CoolOff.D(),
		ShadowChecks: r.ShadowChecks, HalfLife: r.HalfLife.D()})
	c.broadcast.Store(cc.BroadcastWrites)
}

// Reputation is the chain's book of node scores.
func (c *Chain) Reputation() *reputation.Book { return c.rep }

// BroadcastWrites reports broadcast_writes.
func (c *Chain) BroadcastWrites() bool { return c.broadcast.Load() }

// Weight is n's selection weight: its configured weight scaled by its
// reputation.
func (c *Chain) Weight(n *node.Node) float64 { return n.Weight() * c.rep.Scale(n.Name()) }

// Shadows lists g's nodes in the shadow phase of their quarantine that
// are otherwise healthy: they get compared copies of calls, never served.
func (c *Chain) Shadows(g *Group) []*node.Node {
	var out []*node.Node
	for _, n := range g.Nodes {
		if n.Usable() && c.Lag(n) <= c.MaxLag() && c.rep.Phase(n.Name()) == reputation.Shadow {
			out = append(out, n)
		}
	}
	return out
}

// CountHedge counts a hedge sent, and whether it won.
func (g *Group) CountHedge(sent int, won bool) {
	if sent > 0 {
		g.metrics.Hedges.WithLabelValues(g.chain, g.Name, "sent").Add(float64(sent))
	}
	if won {
		g.metrics.Hedges.WithLabelValues(g.chain, g.Name, "won").Inc()
	}
}

// CountRound counts a compared call by result.
func (g *Group) CountRound(result string) {
	g.metrics.Consensus.WithLabelValues(g.chain, g.Name, result).Inc()
}

// LostDispute records that n's answer differed from the majority's.
func (c *Chain) LostDispute(n string) {
	c.metrics.Disputes.WithLabelValues(c.Name, n).Inc()
	if c.rep.LostDispute(n) {
		c.metrics.Quarantines.WithLabelValues(c.Name, n).Inc()
		c.log.Warn("node quarantined: its answers differ from the other nodes'", "node", n)
		c.recompute()
	}
}

// ShadowResult records a shadow check of n.
func (c *Chain) ShadowResult(n string, agreed bool) {
	switch c.rep.ShadowResult(n, agreed) {
	case reputation.Serving:
		c.log.Info("node back in service after shadow checks", "node", n)
		c.recompute()
	case reputation.Quarantined:
		if !agreed {
			c.metrics.Disputes.WithLabelValues(c.Name, n).Inc()
			c.metrics.Quarantines.WithLabelValues(c.Name, n).Inc()
			c.log.Warn("node quarantined again: a shadow answer differed", "node", n)
		}
	}
}

// ClearQuarantine ends n's quarantine now (admin). It reports whether n
// was quarantined.
func (c *Chain) ClearQuarantine(n string) bool {
	was := c.rep.Clear(n)
	c.recompute()
	return was
}

// Method classes for the adaptive hedge delay: heavy calls take longer by
// nature and get their own p95.
func methodClass(m string) int {
	switch {
	case m == "eth_call", m == "eth_estimateGas", m == "eth_getLogs", m == "eth_getBlockReceipts",
		m == "eth_createAccessList", m == "eth_simulateV1",
		strings.HasPrefix(m, "debug_"), strings.HasPrefix(m, "trace_"):
		return 1
	}
	return 0
}

// latencies keeps a group's recent answer latencies per method class.
type latencies struct {
	mu  sync.Mutex
	win [2]window
}

const windowSize = 256

type window struct {
	buf   [windowSize]time.Duration
	n     int // samples held (up to windowSize)
	next  int
	p95   time.Duration
	dirty int // samples since p95 was computed
}

// ObserveLatency feeds the adaptive hedge delay with an answer's latency.
func (g *Group) ObserveLatency(method string, d time.Duration) {
	l := g.lat
	l.mu.Lock()
	w := &l.win[methodClass(method)]
	w.buf[w.next] = d
	w.next = (w.next + 1) % windowSize
	w.n = min(w.n+1, windowSize)
	w.dirty++
	l.mu.Unlock()
}

// HedgeDelay is how long a read of method waits for its first node
// before a hedge is sent: the fixed after, or the group's recent p95 for
// the method's class within [HedgeMin, HedgeMax]. Until 20 answers were
// seen, the nodes' own p95 latencies stand in.
func (g *Group) HedgeDelay(method string) time.Duration {
	if g.Hedge.After > 0 {
		return g.Hedge.After
	}
	l := g.lat
	l.mu.Lock()
	w := &l.win[methodClass(method)]
	if w.n >= 20 && (w.dirty >= 16 || w.p95 == 0) {
		s := slices.Clone(w.buf[:w.n])
		slices.Sort(s)
		w.p95, w.dirty = s[(len(s)*95)/100], 0
	}
	d := w.p95
	l.mu.Unlock()
	if d == 0 {
		for _, n := range g.Nodes {
			d = max(d, n.LatencyQuantile(0.95))
		}
	}
	return min(max(d, HedgeMin), HedgeMax)
}
