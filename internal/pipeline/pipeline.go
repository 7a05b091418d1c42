// Package pipeline is the request flow every transport shares. A
// transport adapter (internal/frontend for HTTP; a WebSocket adapter
// next) reads and decodes what the client sent, and the pipeline does the
// rest: it resolves the chain and the caller (Open), then routes each call
// to its node group, checks the method policy and the caller's plan,
// spends the caller's limits, runs the calls on the nodes, counts the
// outcome and records usage (Relay). It answers with data (status, body,
// Retry-After, WWW-Authenticate) that the adapter writes in its own
// protocol, and fills the request's relay.Record, from which the adapter
// writes the log line.
//
//	adapter ──Open──▶ chain + caller ──Relay──▶ route → admit → execute → account
//	   ▲                                                  │
//	   └──────────── Output + relay.Record ◀───────────────┘
package pipeline

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rpcgate/rpcgate/internal/cache"
	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/route"
	"github.com/rpcgate/rpcgate/internal/session"
	"github.com/rpcgate/rpcgate/internal/store"
	"github.com/rpcgate/rpcgate/internal/telemetry"
	"github.com/rpcgate/rpcgate/internal/tenant"
)

// Options are what a Pipeline is built from.
type Options struct {
	// Chains is the chain table; a reload swaps it with SetChains.
	Chains *route.Chains[*fleet.Chain]
	// Exec runs calls on nodes.
	Exec *execute.Executor
	// Tenancy is the tenant stage (keys, plans, limits, usage). Required.
	Tenancy *Tenancy
	// Metrics holds the request counters; the pipeline registers its own
	// (rpcgate_rpc_errors_total) on Metrics.Registry.
	Metrics *telemetry.Metrics
	// Sessions narrows each client's nodes (sessions.go); nil is off.
	Sessions *session.Sessions
	// Cache holds the chains' response caches; nil: no chain caches.
	Cache *cache.Set
	// Stores holds the chains' stores (store.go); nil: none.
	Stores *store.Set
}

// Pipeline runs requests. It is safe for concurrent use.
type Pipeline struct {
	chains    atomic.Pointer[route.Chains[*fleet.Chain]]
	exec      *execute.Executor
	tenancy   *Tenancy
	metrics   *telemetry.Metrics
	rpcErrors *prometheus.CounterVec // chain, group, method, class
	sessions  *session.Sessions
	cache     *cache.Set
	local     atomic.Pointer[Local]
	stores    *store.Set
}

// New returns a pipeline and registers its collectors.
func New(o Options) *Pipeline {
	p := &Pipeline{exec: o.Exec, tenancy: o.Tenancy, metrics: o.Metrics, sessions: o.Sessions, cache: o.Cache, stores: o.Stores,
		rpcErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_rpc_errors_total",
			Help: "Calls a node answered with a JSON-RPC error object (also counted as outcome=\"rpc_error\" in rpcgate_requests_total), " +
				"by chain, group, method and error class (execution, invalid_params, method_not_found, not_yet, capacity, server, other)."},
			[]string{"chain", "group", "method", "class"})}
	o.Metrics.Registry.MustRegister(p.rpcErrors)
	p.chains.Store(o.Chains)
	return p
}

// SetChains swaps the chain table (config reload).
func (p *Pipeline) SetChains(c *route.Chains[*fleet.Chain]) { p.chains.Store(c) }

// Chains is the current chain table.
func (p *Pipeline) Chains() *route.Chains[*fleet.Chain] { return p.chains.Load() }

// Target is where a client sent its request, and what identifies it.
type Target struct {
	// Host and Path select the chain (path segment, or host name).
	Host, Path string
	// Creds is read for the API key and the client's address.
	Creds tenant.Request
}

// Caller is a resolved chain and caller: once per HTTP request, once per
// WebSocket connection.
type Caller struct {
	Chain *fleet.Chain
	ID    tenant.Identity
	// Session is the caller's session key; "" when sessions are off.
	Session string
	// Group, when set, serves every call of this caller from the named
	// node group instead of the method's (a chain's ws_group for
	// WebSocket connections). An unknown name is ignored.
	Group string
}

// Open resolves t's chain and caller and records them in rec. When it
// cannot (unknown chain; key missing, unknown, disabled or not allowed on
// the chain), it returns false and the answer to send.
func (p *Pipeline) Open(t Target, rec *relay.Record) (Caller, Output, bool) {
	chains := p.chains.Load()
	chain, rest, ok := chains.Resolve(t.Host, t.Path)
	if !ok || strings.Contains(strings.TrimSuffix(rest, "/"), "/") {
		return Caller{}, Reject(rec, 404, nil, jsonrpc.CodeUnknownChain,
			"unknown chain path; available: /"+strings.Join(chains.Names(), ", /")), false
	}
	rec.Chain = chain.Name
	id, out, ok := p.tenancy.identify(t.Creds, chain.Name, chain.KeysMode(), strings.TrimSuffix(rest, "/"), rec)
	return Caller{Chain: chain, ID: id, Session: p.sessionKey(t.Creds, id)}, out, ok
}

// Input is one decoded request: a single call or a batch.
type Input struct {
	Caller Caller
	// Reqs is the single call, or the batch's elements in order. Elements
	// that failed to decode carry their Err.
	Reqs  []jsonrpc.Request
	Batch bool
	// Body is the request as sent: a single call is forwarded to the node
	// byte for byte.
	Body []byte
}

// Output is the answer to send. Body aliases pooled buffers: it is valid
// until Release.
type Output struct {
	// Status is the HTTP status of the answer (for HTTP; a WebSocket
	// adapter sends Body alone).
	Status int
	// Body is the JSON answer; nil means no answer at all (a notification,
	// or a batch of notifications: HTTP 204).
	Body []byte
	// RetryAfter, in seconds, is sent as Retry-After when > 0.
	RetryAfter int
	// Challenge is sent as WWW-Authenticate when not empty.
	Challenge string
	// CacheStatus is sent as Cache-Status (RFC 9211) when not empty.
	CacheStatus string

	ans execute.Answer
	res *execute.BatchResult
	buf *[]byte
}

// Release frees the buffers behind Body.
func (o *Output) Release() {
	o.ans.Release()
	if o.res != nil {
		o.res.Release()
		o.res = nil
	}
	if o.buf != nil {
		*o.buf = (*o.buf)[:0]
		if cap(*o.buf) <= maxPooledBuf {
			outPool.Put(o.buf)
		}
		o.buf = nil
	}
	o.Body = nil
}

// Relay runs one request and fills rec with what it did. rec may be a
// different record from Open's (a WebSocket connection opens once and
// relays many requests): the caller's chain, key and plan are recorded
// again.
func (p *Pipeline) Relay(ctx context.Context, in Input, rec *relay.Record) Output {
	rec.Chain, rec.Key, rec.Plan = in.Caller.Chain.Name, in.Caller.ID.Key, in.Caller.ID.Plan
	if in.Batch {
		return p.batch(ctx, in.Caller, in.Reqs, rec)
	}
	return p.single(ctx, in.Caller, &in.Reqs[0], in.Body, rec)
}

func (p *Pipeline) single(ctx context.Context, caller Caller, req *jsonrpc.Request, body []byte, rec *relay.Record) Output {
	if req.Err != nil {
		return Reject(rec, 400, req.ID, req.Err.Code, req.Err.Message)
	}
	c, id := caller.Chain, caller.ID
	rec.Method = c.MetricMethod(req.Method)
	rec.Methods = req.Method
	rec.HashParams(req.Params)
	g := c.Group(req.Method)
	if caller.Group != "" {
		if wg := c.GroupNamed(caller.Group); wg != nil {
			g = wg
		}
	}
	rec.Group = g.Name
	if !id.MethodAllowed(req.Method) {
		return denied(g, req, rec, planDenied(req.Method, id.Plan))
	}
	if !c.Allowed(req.Method) {
		return denied(g, req, rec, methodDenied(req.Method))
	}
	cost := p.tenancy.Resolver.Cost(req.Method)
	if out, ok := p.tenancy.admit(ctx, id, c.Name, cost, req.ID, rec); !ok {
		return out
	}
	if l := p.localFor(req.Method); l != nil {
		b := serveLocal(ctx, l, caller, req)
		p.tenancy.account(ctx, id, req.Method, cost)
		g.Count(rec.Method, fleet.OutcomeOK)
		rec.Outcome = relay.OutcomeOK
		if req.IsNotification() {
			return noContent(rec)
		}
		return answer(rec, 200, b)
	}
	ans := p.run(ctx, c, p.sessionGroup(caller, g, req), classOf(id), req, body, rec)
	p.sessionWrote(caller, req, &ans)
	p.tenancy.account(ctx, id, req.Method, cost)
	if ans.Err != nil {
		ans.Release()
		g.Count(rec.Method, fleet.OutcomeFailed)
		rec.Outcome, rec.Code = relay.OutcomeFailed, ans.Err.Code
		if req.IsNotification() {
			return noContent(rec)
		}
		out := answer(rec, ans.Err.HTTPStatus, jsonrpc.AppendError(nil, idOrNull(req.ID), ans.Err.Code, ans.Err.Message, ans.Err.Data))
		out.RetryAfter = ans.Err.RetryAfter
		return out
	}
	if ans.Outcome == relay.OutcomeRPCError {
		g.Count(rec.Method, fleet.OutcomeRPCError)
		rec.Outcome = relay.OutcomeRPCError
		if r, err := jsonrpc.ScanResponse(ans.Body); err == nil && r.Err != nil {
			rec.Code = r.Err.Code
			p.rpcErrors.WithLabelValues(c.Name, g.Name, rec.Method, errorClass(r.Err)).Inc()
		}
	} else {
		g.Count(rec.Method, fleet.OutcomeOK)
		rec.Outcome = relay.OutcomeOK
	}
	if req.IsNotification() {
		ans.Release()
		return noContent(rec)
	}
	out := answer(rec, 200, ans.Body)
	out.ans = ans
	out.CacheStatus = cacheStatus(rec.Cache)
	return out
}

// denied answers a call that the method policy or the caller's plan
// refuses.
func denied(g *fleet.Group, req *jsonrpc.Request, rec *relay.Record, msg string) Output {
	g.Count(rec.Method, fleet.OutcomeDenied)
	rec.Outcome = relay.OutcomeDenied
	if req.IsNotification() {
		return noContent(rec)
	}
	out := Reject(rec, 200, req.ID, jsonrpc.CodeMethodNotFound, msg)
	rec.Outcome = relay.OutcomeDenied
	return out
}

func (p *Pipeline) batch(ctx context.Context, caller Caller, reqs []jsonrpc.Request, rec *relay.Record) Output {
	c, id := caller.Chain, caller.ID
	p.metrics.BatchSize.WithLabelValues(c.Name).Observe(float64(len(reqs)))
	rec.Method, rec.Batch = "batch", len(reqs)
	items := make([]execute.Item, len(reqs))
	var names strings.Builder
	cost := 0
	for i := range reqs {
		req := &reqs[i]
		items[i].Req = req
		if req.Err == nil && i < maxLoggedMethods {
			if i > 0 {
				names.WriteByte(',')
			}
			names.WriteString(req.Method)
		}
		switch {
		case req.Err != nil:
			items[i].Pre = req.Err
		case !id.MethodAllowed(req.Method):
			c.Group(req.Method).Count(c.MetricMethod(req.Method), fleet.OutcomeDenied)
			items[i].Pre = &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: planDenied(req.Method, id.Plan)}
		case !c.Allowed(req.Method):
			c.Group(req.Method).Count(c.MetricMethod(req.Method), fleet.OutcomeDenied)
			items[i].Pre = &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: methodDenied(req.Method)}
		case p.localFor(req.Method) != nil:
			// Gateway-held filters are answered alone, never by one node.
			items[i].Pre = &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: req.Method + " is served by the gateway and cannot be part of a batch; send it alone"}
		default:
			items[i].Group = c.Group(req.Method)
			cost += p.tenancy.Resolver.Cost(req.Method)
		}
	}
	if len(reqs) > maxLoggedMethods {
		names.WriteString(",…")
	}
	rec.Methods = names.String()
	if out, ok := p.tenancy.admit(ctx, id, c.Name, cost, nil, rec); !ok {
		return out
	}
	hits, run := p.batchHits(ctx, c, items), items
	if hits != nil {
		run = hits.pending
		hits.account(ctx, p, c, items, caller)
	}
	res := p.exec.Batch(ctx, c, classOf(id), run, rec)
	for i := range run {
		it := &run[i]
		if it.Group == nil {
			continue
		}
		method := c.MetricMethod(it.Req.Method)
		o := it.Outcome()
		it.Group.Count(method, o)
		if o == fleet.OutcomeRPCError {
			p.rpcErrors.WithLabelValues(c.Name, it.Group.Name, method, errorClass(it.RPCError())).Inc()
		}
		p.tenancy.account(ctx, id, it.Req.Method, p.tenancy.Resolver.Cost(it.Req.Method))
	}
	rec.Outcome = relay.OutcomeOK
	ob := outPool.Get().(*[]byte)
	body, any := res.AppendTo((*ob)[:0])
	if hits != nil {
		body, any = hits.merge(ctx, nil, body)
	}
	*ob = body
	if !any {
		res.Release()
		*ob = body[:0]
		outPool.Put(ob)
		return noContent(rec)
	}
	out := answer(rec, 200, body)
	out.res, out.buf = res, ob
	return out
}

// Reject answers with a gateway error object (id is the raw client id;
// nil answers null) and records it as refused. Adapters use it for what
// they refuse themselves (a bad method, an oversized or malformed body).
func Reject(rec *relay.Record, status int, id []byte, code int, msg string) Output {
	rec.Outcome, rec.Code = relay.OutcomeRejected, code
	return answer(rec, status, jsonrpc.AppendError(nil, idOrNull(id), code, msg, nil))
}

// answer is a JSON answer, recorded in rec.
func answer(rec *relay.Record, status int, body []byte) Output {
	if body == nil {
		body = []byte{}
	}
	rec.Status, rec.Bytes = status, len(body)
	return Output{Status: status, Body: body}
}

// noContent is the answer to notifications: none at all.
func noContent(rec *relay.Record) Output {
	rec.Status = 204
	return Output{Status: 204}
}

// maxLoggedMethods bounds the method list a batch's log line carries.
const maxLoggedMethods = 10

func methodDenied(m string) string {
	return "the method " + m + " does not exist/is not available"
}

func planDenied(m, plan string) string {
	return "the method " + m + " is not available on plan " + plan
}

var null = []byte("null")

func idOrNull(id []byte) []byte {
	if id == nil {
		return null
	}
	return id
}

// Batch answers larger than this are left to the garbage collector instead
// of the pool, so one huge answer does not stay resident.
const maxPooledBuf = 256 << 10

var outPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}
