// Package cache is the response cache: finality tracking per chain, the
// policy that says which answers may be kept and for how long, the memory
// and Redis tiers, and request coalescing. It stores node answers as
// templates (the node's bytes with the id cut out), so a cached answer is
// the node's answer byte for byte with the asking client's id.
//
// One file per concept: key.go (what a call means for the cache, tag
// resolution), template.go (id splicing), finality.go (finalized block,
// reorg detection), chain.go (a chain's cache and its policy), redis.go
// (the shared tier), flight.go (coalescing), set.go (all chains, reload),
// metrics.go.
package cache

import (
	"context"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

// Chain is one chain's cache.
type Chain struct {
	name    string
	fin     *Finality
	mem     *otter.Cache[string, *entry]
	redis   *redisTier
	ttl     time.Duration
	rtTTL   time.Duration // realtime_ttl; 0: off
	methods map[string]string
	logs    map[string]uint64 // max_logs_range by group
	m       *Metrics

	mu     sync.Mutex
	byHash map[string]map[string]struct{} // unfinalized keys by the block hash they are about

	counters sync.Map // class+tier+result → prometheus.Counter (a hit must not hash labels)

	// Flights coalesces identical concurrent calls; the pipeline owns what
	// the flights carry.
	Flights Flights[Shared]
}

// Shared is what a call shared with identical concurrent calls: the node's
// answer as a template, or the gateway's own error answer (Err), with how
// the call ended.
type Shared struct {
	Tmpl    Template
	OK      bool // Tmpl is set
	Err     any  // the pipeline's error value when no node answered
	Outcome uint8
}

type entry struct {
	tmpl  Template
	final bool
	hash  string // unfinalized: the block hash the answer is about
	num   uint64
	exp   time.Duration
}

// finalTTL stands for "no expiry" (otter wants a duration).
const finalTTL = 100 * 365 * 24 * time.Hour

func newChain(name string, fc *fleet.Chain, cc *config.Chain, m *Metrics) *Chain {
	c := &Chain{name: name, m: m, methods: cc.Cache.Methods, logs: logsRanges(cc), byHash: map[string]map[string]struct{}{}}
	if cc.Cache.UnfinalizedTTL != nil {
		c.ttl = cc.Cache.UnfinalizedTTL.D()
	}
	w := m.Waiting.WithLabelValues(name)
	c.Flights.waiting = w.Add
	c.rtTTL = cc.Cache.RealtimeTTL.D()
	c.fin = &Finality{chain: fc}
	c.fin.depth.Store(*cc.FinalityDepth)
	c.fin.onReorg = c.reorg
	c.fin.onFinal = func(fin, safe uint64) {
		m.Finalized.WithLabelValues(name).Set(float64(fin))
		m.Safe.WithLabelValues(name).Set(float64(safe))
	}
	c.mem = otter.Must(&otter.Options[string, *entry]{
		MaximumWeight: uint64(cc.Cache.MaxBytes),
		Weigher: func(k string, e *entry) uint32 {
			return uint32(min(len(k)+e.tmpl.Size()+64, 1<<31))
		},
		ExpiryCalculator: otter.ExpiryCreatingFunc(func(e otter.Entry[string, *entry]) time.Duration { return e.Value.exp }),
		OnDeletion: func(e otter.DeletionEvent[string, *entry]) {
			switch e.Cause {
			case otter.CauseOverflow:
				m.Evictions.WithLabelValues(name, "size").Inc()
			case otter.CauseExpiration:
				m.Evictions.WithLabelValues(name, "expired").Inc()
			}
			if e.Value.hash != "" && e.Cause != otter.CauseReplacement {
				c.untag(e.Value.hash, e.Key)
			}
		},
	})
	return c
}

// Finality is the chain's finality tracker.
func (c *Chain) Finality() *Finality { return c.fin }

// policy is the method's cache policy.
func (c *Chain) policy(method string) string {
	if p, ok := c.methods[method]; ok {
		return p
	}
	return config.CachePolicyUnfinalized
}

// Get looks l up: memory first, then Redis. The returned template is
// read-only.
func (c *Chain) Get(ctx context.Context, l *Lookup, method string) (Template, bool) {
	if (l.Scope == ScopeNone && !c.realtime(l)) || c.policy(method) == config.CachePolicyOff {
		return Template{}, false
	}
	if e, ok := c.mem.GetIfPresent(l.Key); ok && c.valid(e) {
		c.count(l.Class, "memory", "hit")
		return e.tmpl, true
	}
	c.count(l.Class, "memory", "miss")
	if c.redis == nil || l.Scope == ScopeNone {
		return Template{}, false
	}
	t, ok := c.redis.get(ctx, l.Key)
	if !ok {
		c.count(l.Class, "redis", "miss")
		return Template{}, false
	}
	c.count(l.Class, "redis", "hit")
	c.set(l.Key, &entry{tmpl: t, final: true, exp: finalTTL})
	return t, true
}

// realtime reports a tip read that realtime_ttl lets the cache keep.
func (c *Chain) realtime(l *Lookup) bool { return l.Realtime && c.rtTTL > 0 }

// count counts one lookup.
func (c *Chain) count(class, tier, result string) {
	k := lookupKey{class, tier, result}
	if v, ok := c.counters.Load(k); ok {
		v.(prometheus.Counter).Inc()
		return
	}
	ctr := c.m.Lookups.WithLabelValues(c.name, class, tier, result)
	c.counters.Store(k, ctr)
	ctr.Inc()
}

type lookupKey struct{ class, tier, result string }

// valid re-checks an unfinalized entry against the canonical hash known at
// its height: a reorg the tracker saw but whose eviction raced this read
// must not be served.
func (c *Chain) valid(e *entry) bool {
	if e.final || e.hash == "" || e.num == 0 {
		return true
	}
	h := c.fin.Canonical(e.num)
	return h == "" || h == e.hash
}

// Put stores a node's answer to l when the policy allows it. r is the scan
// of the answer. Errors, null results and answers whose finality cannot be
// told are never stored.
func (c *Chain) Put(ctx context.Context, l *Lookup, method string, t Template, r *jsonrpc.Response) {
	pol := c.policy(method)
	if (l.Scope == ScopeNone && !c.realtime(l)) || pol == config.CachePolicyOff {
		return
	}
	switch {
	case r.Err != nil || r.Result == nil:
		c.m.StoreRejected.WithLabelValues(c.name, "error").Inc()
		return
	case string(r.Result) == "null":
		c.m.StoreRejected.WithLabelValues(c.name, "null").Inc()
		return
	}
	e := &entry{tmpl: t}
	if l.Scope == ScopeNone { // realtime: a short TTL, never shared through Redis
		e.exp = c.rtTTL
		c.set(l.Key, e)
		return
	}
	switch l.Scope {
	case ScopeStatic:
		e.final = true
	case ScopeNumber:
		e.final = c.fin.IsFinal(l.Number)
	case ScopeHash:
		e.hash = l.Hash
		if n, ok := answerBlock(r.Result); ok {
			e.num = n
			e.final = c.fin.IsFinal(n)
		}
	case ScopeResult:
		n, ok := blockField(r.Result, "blockNumber")
		h, hok := jsonrpc.ObjectMember(r.Result, "blockHash")
		if !ok || !hok || !isHash(h) { // pending: it may still be mined elsewhere
			c.m.StoreRejected.WithLabelValues(c.name, "null").Inc()
			return
		}
		e.num, e.hash, e.final = n, lowerHash(h), c.fin.IsFinal(n)
	}
	if e.final {
		e.exp = finalTTL
		c.set(l.Key, e)
		if c.redis != nil {
			c.redis.put(ctx, l.Key, t)
		}
		return
	}
	if pol != config.CachePolicyUnfinalized || c.ttl <= 0 || e.hash == "" {
		c.m.StoreRejected.WithLabelValues(c.name, "unfinalized").Inc()
		return
	}
	e.exp = c.ttl
	c.tag(e.hash, l.Key)
	c.set(l.Key, e)
}

func (c *Chain) set(key string, e *entry) {
	c.mem.Set(key, e)
	c.m.Bytes.WithLabelValues(c.name).Set(float64(c.mem.WeightedSize()))
}

// answerBlock reads the block number an answer about a block hash is at:
// a block's "number", or the first receipt's or log's "blockNumber".
func answerBlock(res []byte) (uint64, bool) {
	if n, ok := blockField(res, "number"); ok {
		return n, true
	}
	if len(res) > 0 && res[0] == '[' {
		if first, ok := jsonrpc.ArrayElem(res, 0); ok {
			return blockField(first, "blockNumber")
		}
	}
	return 0, false
}

func (c *Chain) tag(hash, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.byHash[hash]
	if s == nil {
		s = map[string]struct{}{}
		c.byHash[hash] = s
	}
	s[key] = struct{}{}
}

func (c *Chain) untag(hash, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.byHash[hash]; s != nil {
		delete(s, key)
		if len(s) == 0 {
			delete(c.byHash, hash)
		}
	}
}

// reorg evicts every unfinalized answer about a replaced block.
func (c *Chain) reorg(replaced []string) {
	c.m.Reorgs.WithLabelValues(c.name).Inc()
	var keys []string
	c.mu.Lock()
	for _, h := range replaced {
		for k := range c.byHash[h] {
			keys = append(keys, k)
		}
		delete(c.byHash, h)
	}
	c.mu.Unlock()
	for _, k := range keys {
		if _, ok := c.mem.Invalidate(k); ok {
			c.m.ReorgEvicted.WithLabelValues(c.name).Inc()
		}
	}
	c.m.Bytes.WithLabelValues(c.name).Set(float64(c.mem.WeightedSize()))
}

// Purge drops every entry of the chain from memory (and from Redis when
// configured). It returns how many memory entries it dropped.
func (c *Chain) Purge(ctx context.Context) (int, error) {
	n := c.mem.EstimatedSize()
	c.mem.InvalidateAll()
	c.mu.Lock()
	clear(c.byHash)
	c.mu.Unlock()
	c.m.Bytes.WithLabelValues(c.name).Set(float64(c.mem.WeightedSize()))
	if c.redis != nil {
		return n, c.redis.purge(ctx, c.name)
	}
	return n, nil
}

// CountCoalesced counts a call answered by another call's upstream answer.
func (c *Chain) CountCoalesced() { c.m.Coalesced.WithLabelValues(c.name).Inc() }

// CountNotStored counts an answer the cache did not keep, by reason.
func (c *Chain) CountNotStored(reason string) {
	c.m.StoreRejected.WithLabelValues(c.name, reason).Inc()
}

// CountChunks counts eth_getLogs chunk calls.
func (c *Chain) CountChunks(n int) { c.m.LogsChunks.WithLabelValues(c.name).Add(float64(n)) }

// MaxLogsRange is group's max_logs_range (0: never split).
func (c *Chain) MaxLogsRange(group string) uint64 { return c.logs[group] }

func logsRanges(cc *config.Chain) map[string]uint64 {
	m := map[string]uint64{}
	for name, g := range cc.Groups {
		if g != nil && g.MaxLogsRange > 0 {
			m[name] = g.MaxLogsRange
		}
	}
	return m
}
