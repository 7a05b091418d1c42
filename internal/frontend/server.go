// Package frontend is the public HTTP listener, an adapter from HTTP to
// the request pipeline (internal/pipeline): it reads and bounds client
// bodies, decodes JSON-RPC, hands the request to the pipeline and writes
// its answer with the HTTP status and headers the answer carries. Every
// request ends in one log line, written from its relay record, and its
// duration metric.
package frontend

import (
	"context"
	"github.com/rpcgate/rpcgate/internal/cache"
	"github.com/rpcgate/rpcgate/internal/store"
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
	"github.com/rpcgate/rpcgate/internal/pipeline"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/route"
	"github.com/rpcgate/rpcgate/internal/session"
	"github.com/rpcgate/rpcgate/internal/telemetry"
	"github.com/valyala/fasthttp"
)

// Server serves JSON-RPC over HTTP for every configured chain: it adapts
// HTTP to the request pipeline (internal/pipeline), which does the work.
type Server struct {
	pipe    *pipeline.Pipeline
	limits  atomic.Pointer[config.Limits]
	log     *slog.Logger
	metrics *telemetry.Metrics
	ready   atomic.Bool
	active  atomic.Int64            // JSON-RPC requests being served
	extra   http.Handler            // status page and other public GET pages; may be nil
	pages   fasthttp.RequestHandler // extra, adapted for the public listener
	base    context.Context         // parent of the public listener's request contexts
	admit   admission               // body bytes and connections held (limits.go)
	sum     Summaries               // nil: summaries off
	ws      Upgrader                // WebSocket adapter; nil for none
	ana     Summaries               // nil: analytics off
}

// Upgrader serves WebSocket upgrade requests on the public paths
// (internal/wsgate).
type Upgrader interface {
	IsUpgrade(ctx *fasthttp.RequestCtx) bool
	Serve(ctx *fasthttp.RequestCtx)
}

// Summaries receives every finished request's relay record (the relay
// summary stream). Offer must copy what it keeps and must not block: the
// record is reused as soon as it returns.
type Summaries interface{ Offer(*relay.Record) }

// Options are what a Server is built from. Everything but Pages and Base
// is required.
type Options struct {
	// Chains is the chain table; a reload swaps it with SetChains.
	Chains *route.Chains[*fleet.Chain]
	// Exec runs calls on nodes.
	Exec *execute.Executor
	// Limits bound request bodies and batches; a reload swaps them with
	// SetLimits.
	Limits config.Limits
	// Log receives one line per request.
	Log     *slog.Logger
	Metrics *telemetry.Metrics
	// Tenancy is the tenant stage (keys, plans, limits, usage).
	Tenancy *pipeline.Tenancy
	// Cache holds the chains' response caches (nil: none).
	Cache *cache.Set
	// Stores holds the chains' stores (docs/followers.md); nil: none.
	Stores *store.Set
	// Pages serves GET pages (e.g. /status) on the public listener; nil
	// for none.
	Pages http.Handler
	// Sessions narrows each client's nodes (internal/session); nil is off.
	Sessions *session.Sessions
	// Summaries, when set, gets every request's relay record.
	Summaries Summaries
	// Local serves the methods the gateway answers itself (filters);
	// nil for none.
	Local pipeline.Local
	// Analytics, when set, also gets every request's relay record (the
	// operator analytics recorder, internal/analytics).
	Analytics Summaries
	// Base is the context the public listener's requests derive from:
	// cancelling it abandons the requests still in flight (the end of a
	// shutdown). Default context.Background().
	Base context.Context
}

// New returns a server.
func New(o Options) *Server {
	s := &Server{log: o.Log, metrics: o.Metrics, base: o.Base, sum: o.Summaries, ana: o.Analytics,
		pipe: pipeline.New(pipeline.Options{Chains: o.Chains, Exec: o.Exec, Tenancy: o.Tenancy, Metrics: o.Metrics, Sessions: o.Sessions, Cache: o.Cache, Stores: o.Stores})}
	if s.base == nil {
		s.base = context.Background()
	}
	if o.Local != nil {
		s.pipe.SetLocal(o.Local)
	}
	if o.Pages != nil {
		s.extra, s.pages = o.Pages, pagesHandler(o.Pages)
	}
	s.limits.Store(&o.Limits)
	s.ready.Store(true)
	return s
}

// Pipeline is the request flow this server adapts (shared with the
// WebSocket adapter).
func (s *Server) Pipeline() *pipeline.Pipeline { return s.pipe }

// SetUpgrader installs the WebSocket adapter; call before serving.
func (s *Server) SetUpgrader(u Upgrader) { s.ws = u }

// SetChains swaps the chain table (config reload).
func (s *Server) SetChains(c *route.Chains[*fleet.Chain]) { s.pipe.SetChains(c) }

// SetLimits swaps the request limits (config reload).
func (s *Server) SetLimits(l config.Limits) { s.limits.Store(&l) }

// InFlight is the number of JSON-RPC requests being served now.
func (s *Server) InFlight() int64 { return s.active.Load() }

// SetReady flips /readyz (false from the moment shutdown starts).
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

// handle serves one request that is not a page: the JSON-RPC flow, its
// log line and its metrics. clientID is the client's X-Request-ID.
func (s *Server) handle(x exchange, clientID string) {
	s.active.Add(1)
	defer s.active.Add(-1)
	rec := newRecord(clientID)
	x.setHeader("X-Request-Id", rec.ID)
	x.setHeader("Access-Control-Allow-Origin", "*")
	x.setHeader("Access-Control-Expose-Headers", exposeHeaders)
	s.serve(x, rec)
	s.finish(x, rec)
	relay.Put(rec)
}

func isPage(p string) bool {
	return p == "/status" || p == "/status.json" || strings.HasPrefix(p, "/status/") || strings.HasPrefix(p, "/snapshots/")
}

// readiness is /readyz: ready once every chain has checked its nodes, and
// until shutdown starts.
func (s *Server) readiness() (bool, string) {
	if !s.ready.Load() {
		return false, "shutting down"
	}
	for _, c := range s.pipe.Chains().Values() {
		if !c.Warm() {
			return false, "checking nodes of chain " + c.Name
		}
	}
	return true, "ready"
}

func (s *Server) serve(x exchange, rec *relay.Record) {
	switch x.method() {
	case http.MethodPost:
	case http.MethodOptions:
		x.setHeader("Access-Control-Allow-Methods", allowMethods)
		x.setHeader("Access-Control-Allow-Headers", allowHeaders)
		x.setHeader("Access-Control-Max-Age", maxAge)
		rec.Status = http.StatusNoContent
		x.send(rec.Status, nil)
		return
	default:
		x.setHeader("Allow", allowMethods)
		reject(x, rec, http.StatusMethodNotAllowed, jsonrpc.CodeInvalidRequest, "JSON-RPC requests must use POST")
		return
	}
	caller, out, ok := s.pipe.Open(pipeline.Target{Host: x.host(), Path: x.path(), Creds: x}, rec)
	if !ok {
		send(x, &out)
		return
	}
	limits := s.limits.Load()
	body, err := x.body(limits.MaxBodyBytes)
	if err == errBodyTooLarge {
		tooLarge(x, rec, limits.MaxBodyBytes)
		return
	}
	if err != nil {
		bodyError(x, rec, err) // limits.go
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
		reject(x, rec, http.StatusBadRequest, derr.Code, derr.Message)
		return
	}
	out = s.pipe.Relay(x.ctx(), pipeline.Input{Caller: caller, Reqs: reqs, Batch: batch, Body: body}, rec)
	send(x, &out)
	out.Release()
}

// send writes the pipeline's answer.
func send(x exchange, out *pipeline.Output) {
	if out.RetryAfter > 0 {
		x.setHeader("Retry-After", strconv.Itoa(out.RetryAfter))
	}
	if out.Challenge != "" {
		x.setHeader("WWW-Authenticate", out.Challenge)
	}
	if out.CacheStatus != "" {
		x.setHeader("Cache-Status", out.CacheStatus)
	}
	x.send(out.Status, out.Body)
}

// finish writes the request's log line and duration metric from its
// relay record. With the JSON handler of telemetry.NewLogger the line is
// encoded here (identical bytes, a third of the cost); otherwise it goes
// through slog, handed to the handler directly: slog.Logger would also
// capture the caller's program counter, which the line does not use.
func (s *Server) finish(x exchange, rec *relay.Record) {
	now := time.Now()
	d := now.Sub(rec.Start)
	rec.Duration = d
	if rec.Chain != "" && rec.Method != "" {
		s.metrics.Duration.WithLabelValues(rec.Chain, rec.Method).Observe(d.Seconds())
	}
	if s.sum != nil {
		s.sum.Offer(rec)
	}
	if s.ana != nil {
		s.ana.Offer(rec)
	}
	ctx := x.ctx()
	h := s.log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	lp := linePool.Get().(*[]byte)
	defer putBuf(&linePool, lp)
	var nb [64]byte
	nodes := logNodes(rec, nb[:0])
	code := rec.Code
	if rec.Outcome == relay.OutcomeRPCError {
		code = 0 // the line's code is the gateway's own; the node's is in the attempts
	}
	attempts := len(rec.Attempts())
	if lw, ok := h.(telemetry.JSONLineWriter); ok {
		f := telemetry.JSONFields{Buf: (*lp)[:0], Plain: true}
		f.Str("request_id", rec.ID)
		f.Str("chain", rec.Chain)
		f.Str("group", rec.Group)
		f.Str("key", rec.Key)
		f.Str("plan", rec.Plan)
		f.Str("methods", rec.Methods)
		f.Int("batch", int64(rec.Batch))
		f.Str("node", b2s(nodes))
		f.Int("attempts", int64(attempts))
		f.Int("status", int64(rec.Status))
		f.Int("code", int64(code))
		f.Int("duration", int64(d))
		f.Buf = append(f.Buf, `,"bytes":`...)
		f.Buf = strconv.AppendInt(f.Buf, int64(rec.Bytes), 10)
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
		slog.String("request_id", rec.ID),
		slog.String("chain", rec.Chain),
		slog.String("group", rec.Group),
		slog.String("key", rec.Key),
		slog.String("plan", rec.Plan),
		slog.String("methods", rec.Methods),
		slog.Int("batch", rec.Batch),
		slog.String("node", string(nodes)),
		slog.Int("attempts", attempts),
		slog.Int("status", rec.Status),
		slog.Int("code", code),
		slog.Duration("duration", d),
		slog.Int("bytes", rec.Bytes),
		slog.String("remote", string(x.appendPeer((*lp)[:0]))),
	)
	_ = h.Handle(ctx, r)
}

// logNodes appends the line's "node": the node whose answer a single call
// returned, or every node a batch's parts were sent to.
func logNodes(rec *relay.Record, dst []byte) []byte {
	if rec.Batch > 0 {
		return rec.Nodes(dst)
	}
	return append(dst, rec.Answered()...)
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
	linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}
	reqPool  = sync.Pool{New: func() any { r := make([]jsonrpc.Request, 0, 4); return &r }}
)
