// Package frontend is the public HTTP listener: it reads and bounds client
// bodies, resolves the chain, decodes JSON-RPC, hands calls to the
// executor and writes answers with the right HTTP status. Every request
// ends in one log line and its metrics.
package frontend

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/route"
	"github.com/rpcgate/rpcgate/internal/telemetry"
	"github.com/rpcgate/rpcgate/internal/tenant"
	"github.com/valyala/fasthttp"
)

// Server serves JSON-RPC over HTTP for every configured chain.
type Server struct {
	chains  atomic.Pointer[route.Chains[*fleet.Chain]]
	limits  atomic.Pointer[config.Limits]
	exec    *execute.Executor
	log     *slog.Logger
	metrics *telemetry.Metrics
	ready   atomic.Bool
	active  atomic.Int64            // JSON-RPC requests being served
	extra   http.Handler            // status page and other public GET pages; may be nil
	pages   fasthttp.RequestHandler // extra, adapted for the public listener
	base    context.Context         // parent of the public listener's request contexts
	tenancy *Tenancy
}

// New returns a server for chains.
func New(chains *route.Chains[*fleet.Chain], exec *execute.Executor, limits config.Limits, log *slog.Logger, m *telemetry.Metrics) *Server {
	s := &Server{exec: exec, log: log, metrics: m, base: context.Background()}
	s.chains.Store(chains)
	s.limits.Store(&limits)
	s.ready.Store(true)
	return s
}

// SetChains swaps the chain table (config reload).
func (s *Server) SetChains(c *route.Chains[*fleet.Chain]) { s.chains.Store(c) }

// SetLimits swaps the request limits (config reload).
func (s *Server) SetLimits(l config.Limits) { s.limits.Store(&l) }

// SetPages mounts handlers for GET pages (e.g. /status) on the public
// listener.
func (s *Server) SetPages(h http.Handler) { s.extra, s.pages = h, pagesHandler(h) }

// SetBaseContext sets the context the public listener's requests derive
// from: cancelling it abandons the requests still in flight (the end of a
// shutdown). Must be called before serving.
func (s *Server) SetBaseContext(ctx context.Context) { s.base = ctx }

// SetTenancy installs the tenant stage (keys, plans, limits, usage).
// Must be called before serving.
func (s *Server) SetTenancy(t *Tenancy) { s.tenancy = t }

// InFlight is the number of JSON-RPC requests being served now.
func (s *Server) InFlight() int64 { return s.active.Load() }

// SetReady flips /readyz (false from the moment shutdown starts).
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

// handle serves one request that is not a page: the JSON-RPC flow, its
// log line and its metrics. clientID is the client's X-Request-ID.
func (s *Server) handle(x exchange, clientID string) {
	s.active.Add(1)
	defer s.active.Add(-1)
	rec := record{start: time.Now(), id: requestID(clientID)}
	x.setHeader("X-Request-Id", rec.id)
	x.setHeader("Access-Control-Allow-Origin", "*")
	x.setHeader("Access-Control-Expose-Headers", exposeHeaders)
	s.serve(x, &rec)
	s.finish(x, &rec)
}

func isPage(p string) bool {
	return p == "/status" || p == "/status.json" || strings.HasPrefix(p, "/status/")
}

// readiness is /readyz: ready once every chain has checked its nodes, and
// until shutdown starts.
func (s *Server) readiness() (bool, string) {
	if !s.ready.Load() {
		return false, "shutting down"
	}
	for _, c := range s.chains.Load().Values() {
		if !c.Warm() {
			return false, "checking nodes of chain " + c.Name
		}
	}
	return true, "ready"
}

func (s *Server) serve(x exchange, rec *record) {
	switch x.method() {
	case http.MethodPost:
	case http.MethodOptions:
		x.setHeader("Access-Control-Allow-Methods", allowMethods)
		x.setHeader("Access-Control-Allow-Headers", allowHeaders)
		x.setHeader("Access-Control-Max-Age", maxAge)
		rec.noContent(x)
		return
	default:
		x.setHeader("Allow", allowMethods)
		rec.error(x, http.StatusMethodNotAllowed, nil, jsonrpc.CodeInvalidRequest, "JSON-RPC requests must use POST", 0)
		return
	}
	chains := s.chains.Load()
	path := x.path()
	chain, rest, ok := chains.Resolve(x.host(), path)
	if !ok || strings.Contains(strings.TrimSuffix(rest, "/"), "/") {
		rec.error(x, http.StatusNotFound, nil, execute.CodeUnknownChain,
			"unknown chain path "+strconv.Quote(path)+"; available: /"+strings.Join(chains.Names(), ", /"), 0)
		return
	}
	rec.chain = chain
	id, ok := s.tenancy.identify(x, chain.Name, chain.KeysMode(), strings.TrimSuffix(rest, "/"), rec)
	if !ok {
		return
	}
	limits := s.limits.Load()
	body, err := x.body(limits.MaxBodyBytes)
	if err == errBodyTooLarge {
		rec.tooLarge(x, limits.MaxBodyBytes)
		return
	}
	if err != nil {
		rec.error(x, http.StatusBadRequest, nil, jsonrpc.CodeParse, "could not read request body", 0)
		return
	}
	rp := reqPool.Get().(*[]jsonrpc.Request)
	defer func() {
		if cap(*rp) <= maxPooledBatch {
			clear((*rp)[:cap(*rp)]) // drop references into the old body
			reqPool.Put(rp)
		}
	}()
	reqs, batch, derr := jsonrpc.DecodeInto((*rp)[:0], body, limits.MaxBatch)
	*rp = reqs[:0]
	if derr != nil {
		rec.error(x, http.StatusBadRequest, nil, derr.Code, derr.Message, 0)
		return
	}
	if batch {
		s.serveBatch(x, chain, id, reqs, rec)
		return
	}
	s.serveSingle(x, chain, id, &reqs[0], body, rec)
}

func (s *Server) serveSingle(x exchange, c *fleet.Chain, id tenant.Identity, req *jsonrpc.Request, body []byte, rec *record) {
	if req.Err != nil {
		rec.error(x, http.StatusBadRequest, req.ID, req.Err.Code, req.Err.Message, 0)
		return
	}
	rec.method = c.MetricMethod(req.Method)
	rec.methods = req.Method
	g := c.Group(req.Method)
	rec.group = g.Name
	if !id.MethodAllowed(req.Method) {
		g.Count(rec.method, fleet.OutcomeDenied)
		if req.IsNotification() {
			rec.noContent(x)
			return
		}
		rec.error(x, http.StatusOK, req.ID, jsonrpc.CodeMethodNotFound, planDenied(req.Method, id.Plan), 0)
		return
	}
	if !c.Allowed(req.Method) {
		g.Count(rec.method, fleet.OutcomeDenied)
		if req.IsNotification() {
			rec.noContent(x)
			return
		}
		rec.error(x, http.StatusOK, req.ID, jsonrpc.CodeMethodNotFound, methodDenied(req.Method), 0)
		return
	}
	cost := s.tenancy.Resolver.Cost(req.Method)
	if !s.tenancy.admit(x.ctx(), x, id, c.Name, cost, req.ID, rec) {
		return
	}
	ans := s.exec.Single(x.ctx(), c, g, classOf(id), req, body, nil)
	defer ans.Release()
	s.tenancy.account(x.ctx(), id, req.Method, cost)
	rec.node, rec.attempts = ans.Node, ans.Attempts
	if ans.Err != nil {
		g.Count(rec.method, fleet.OutcomeFailed)
		if req.IsNotification() {
			rec.noContent(x)
			return
		}
		rec.error(x, ans.Err.HTTPStatus, req.ID, ans.Err.Code, ans.Err.Message, ans.Err.RetryAfter)
		return
	}
	g.Count(rec.method, fleet.OutcomeOK)
	if req.IsNotification() {
		rec.noContent(x)
		return
	}
	rec.json(x, http.StatusOK, ans.Body)
}

func (s *Server) serveBatch(x exchange, c *fleet.Chain, id tenant.Identity, reqs []jsonrpc.Request, rec *record) {
	s.metrics.BatchSize.WithLabelValues(c.Name).Observe(float64(len(reqs)))
	rec.method, rec.batch = "batch", len(reqs)
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
		default:
			items[i].Group = c.Group(req.Method)
			cost += s.tenancy.Resolver.Cost(req.Method)
		}
	}
	if len(reqs) > maxLoggedMethods {
		names.WriteString(",…")
	}
	rec.methods = names.String()
	if !s.tenancy.admit(x.ctx(), x, id, c.Name, cost, nil, rec) {
		return
	}
	res := s.exec.Batch(x.ctx(), c, classOf(id), items, nil)
	defer res.Release()
	for i := range items {
		if it := &items[i]; it.Group != nil {
			it.Group.Count(c.MetricMethod(it.Req.Method), it.Outcome())
			s.tenancy.account(x.ctx(), id, it.Req.Method, s.tenancy.Resolver.Cost(it.Req.Method))
		}
	}
	rec.node, rec.attempts = res.Nodes(), res.Attempts()
	ob := outPool.Get().(*[]byte)
	defer putBuf(&outPool, ob)
	out, any := res.AppendTo((*ob)[:0])
	*ob = out[:0]
	if !any {
		rec.noContent(x)
		return
	}
	rec.json(x, http.StatusOK, out)
}

// finish writes the request's log line and duration metric. With the JSON
// handler of telemetry.NewLogger the line is encoded here (identical
// bytes, a third of the cost); otherwise it goes through slog, handed to
// the handler directly: slog.Logger would also capture the caller's
// program counter, which the line does not use.
func (s *Server) finish(x exchange, rec *record) {
	now := time.Now()
	d := now.Sub(rec.start)
	chain := ""
	if rec.chain != nil {
		chain = rec.chain.Name
		if rec.method != "" {
			s.metrics.Duration.WithLabelValues(chain, rec.method).Observe(d.Seconds())
		}
	}
	ctx := x.ctx()
	h := s.log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	lp := linePool.Get().(*[]byte)
	defer putBuf(&linePool, lp)
	if lw, ok := h.(telemetry.JSONLineWriter); ok {
		f := telemetry.JSONFields{Buf: (*lp)[:0], Plain: true}
		f.Str("request_id", rec.id)
		f.Str("chain", chain)
		f.Str("group", rec.group)
		f.Str("key", rec.key)
		f.Str("plan", rec.plan)
		f.Str("methods", rec.methods)
		f.Int("batch", int64(rec.batch))
		f.Str("node", rec.node)
		f.Int("attempts", int64(rec.attempts))
		f.Int("status", int64(rec.status))
		f.Int("code", int64(rec.code))
		f.Int("duration", int64(d))
		f.Buf = append(f.Buf, `,"bytes":`...)
		f.Buf = strconv.AppendInt(f.Buf, int64(rec.bytes), 10)
		f.Buf = append(f.Buf, `,"remote":"`...)
		p := len(f.Buf)
		f.Buf = x.appendPeer(f.Buf)
		peerPlain := !needsEscape(f.Buf[p:])
		f.Buf = append(f.Buf, '"')
		*lp = f.Buf
		if f.Plain && peerPlain {
			_ = lw.WriteJSONLine(now, slog.LevelInfo, "request", f.Buf) // a failed log write has nowhere better to go
			return
		}
	}
	r := slog.NewRecord(now, slog.LevelInfo, "request", 0)
	r.AddAttrs(
		slog.String("request_id", rec.id),
		slog.String("chain", chain),
		slog.String("group", rec.group),
		slog.String("key", rec.key),
		slog.String("plan", rec.plan),
		slog.String("methods", rec.methods),
		slog.Int("batch", rec.batch),
		slog.String("node", rec.node),
		slog.Int("attempts", rec.attempts),
		slog.Int("status", rec.status),
		slog.Int("code", rec.code),
		slog.Duration("duration", d),
		slog.Int("bytes", rec.bytes),
		slog.String("remote", string(x.appendPeer((*lp)[:0]))),
	)
	_ = h.Handle(ctx, r)
}

// needsEscape reports bytes a JSON string would escape (the peer address
// is appended raw).
func needsEscape(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e || c == '\\' || c == '"' {
			return true
		}
	}
	return false
}

// maxLoggedMethods bounds the method list a batch's log line carries.
const maxLoggedMethods = 10

func methodDenied(m string) string {
	return "the method " + m + " does not exist/is not available"
}

// Buffers larger than this are left to the garbage collector instead of
// the pool, so one 10 MiB body does not stay resident per pooled buffer.
const (
	maxPooledBuf   = 256 << 10
	maxPooledBatch = 1024
)

func putBuf(p *sync.Pool, b *[]byte) {
	if cap(*b) <= maxPooledBuf {
		p.Put(b)
	}
}

const (
	allowMethods  = "POST, OPTIONS"
	allowHeaders  = "Content-Type, Authorization, X-Api-Key, X-Request-ID"
	exposeHeaders = "X-Request-ID, Retry-After"
	maxAge        = "86400"
)

var (
	jsonCT = []string{"application/json"}

	bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}
	outPool  = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}
	linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}
	reqPool  = sync.Pool{New: func() any { r := make([]jsonrpc.Request, 0, 4); return &r }}
)
