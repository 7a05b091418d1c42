package pipeline

// The cache stage, between admit and execute: a call the chain's cache
// can answer is answered from it; identical concurrent calls share one
// upstream call; a node's answer that may be kept is stored.

import (
	"context"

	"github.com/rpcgate/rpcgate/internal/cache"
	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/schedule"
)

// Values of relay.Record.Cache.
const (
	cacheHit       = "hit"
	cacheMiss      = "miss"
	cacheCoalesced = "coalesced"
)

// cacheStatus is the Cache-Status header (RFC 9211) for a record's cache
// field.
func cacheStatus(s string) string {
	switch s {
	case cacheHit:
		return "rpcgate; hit"
	case cacheMiss:
		return "rpcgate; fwd=miss"
	case cacheCoalesced:
		return "rpcgate; fwd=miss; collapsed"
	}
	return ""
}

// run executes one call, through the chain's cache when it has one.
func (p *Pipeline) run(ctx context.Context, c *fleet.Chain, g *fleet.Group, class schedule.Class, req *jsonrpc.Request, body []byte, rec *relay.Record) execute.Answer {
	if ans, ok := p.fromStore(ctx, c, g, class, req, rec); ok {
		return ans
	}
	var cc *cache.Chain
	if p.cache != nil {
		cc = p.cache.For(c.Name)
	}
	if cc == nil || req.IsNotification() || c.IsWrite(req.Method) {
		return p.exec.Single(ctx, c, g, class, req, body, rec)
	}
	l, ok := cache.Derive(c.Name, req.Method, req.Params)
	if !ok {
		rec.Cache = cacheMiss
		return p.exec.Single(ctx, c, g, class, req, body, rec)
	}
	if t, hit := cc.Get(ctx, &l, req.Method); hit {
		rec.Cache = cacheHit
		return execute.Answer{Body: t.Append(make([]byte, 0, len(t.Body)+len(req.ID)), req.ID), Outcome: relay.OutcomeOK}
	}
	var mine execute.Answer
	sh, leader := cc.Flights.Do(l.Key, func() cache.Shared {
		// The shared call outlives a leader whose client leaves: the
		// others still wait for it. The chain's timeout still bounds it.
		mine = p.fetch(context.WithoutCancel(ctx), cc, &l, c, g, class, req, body, rec)
		return share(&mine)
	})
	if leader {
		rec.Cache = cacheMiss
		return mine
	}
	rec.Cache = cacheCoalesced
	cc.CountCoalesced()
	switch {
	case sh.OK:
		return execute.Answer{Body: sh.Tmpl.Append(nil, idOrNull(req.ID)), Outcome: relay.Outcome(sh.Outcome)}
	case sh.Err != nil:
		return execute.Answer{Err: sh.Err.(*execute.Error), Outcome: relay.OutcomeFailed}
	}
	// The leader's answer could not be shared (not one JSON-RPC response):
	// ask on our own.
	return p.exec.Single(ctx, c, g, class, req, body, rec)
}

// fetch asks a node (or, for a wide eth_getLogs, several) and stores the
// answer when the cache may keep it.
func (p *Pipeline) fetch(ctx context.Context, cc *cache.Chain, l *cache.Lookup, c *fleet.Chain, g *fleet.Group, class schedule.Class, req *jsonrpc.Request, body []byte, rec *relay.Record) execute.Answer {
	if ans, ok := p.splitLogs(ctx, cc, c, g, class, req, rec); ok {
		return ans
	}
	ans := p.exec.Single(ctx, c, g, class, req, body, rec)
	if ans.Err == nil && ans.Outcome == relay.OutcomeOK && len(ans.Body) > 0 {
		if t, r, ok := cache.NewTemplate(ans.Body); ok {
			cc.Put(ctx, l, req.Method, t, &r)
		}
	} else if ans.Err == nil {
		cc.CountNotStored("error")
	}
	return ans
}

// share turns the leader's answer into what identical concurrent calls
// get.
func share(a *execute.Answer) cache.Shared {
	if a.Err != nil {
		return cache.Shared{Err: a.Err}
	}
	t, _, ok := cache.NewTemplate(a.Body)
	if !ok {
		return cache.Shared{}
	}
	return cache.Shared{Tmpl: t, OK: true, Outcome: uint8(a.Outcome)}
}
