package frontend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/telemetry"
)

// Public listener settings. Request headers must fit in maxHeaderBytes
// (a larger header block is answered 431) and arrive within
// headerTimeout of the request's first byte; bodies are bounded per
// request by limits.max_body_bytes and limits.body_read_timeout, which a
// reload can change, and read as they arrive (limits.go).
const (
	maxHeaderBytes = 16 << 10
	headerTimeout  = 10 * time.Second
	writeTimeout   = 60 * time.Second
	idleTimeout    = 120 * time.Second
)

// HTTPServer returns the fasthttp server for the public listener. It
// serves the same flow as ServeHTTP without net/http's per-request
// allocations and background reads (docs/decisions.md 1, "Public HTTP
// server: fasthttp"). log receives the server's own errors at debug level.
func (s *Server) HTTPServer(log *slog.Logger) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:               s.serveFast,
		ErrorHandler:          s.fastError,
		HeaderReceived:        s.headerReceived,
		Name:                  "rpcgate",
		ReadBufferSize:        maxHeaderBytes,
		ReadTimeout:           headerTimeout,
		StreamRequestBody:     true, // memory follows the bytes received (issue 8, defect 1)
		WriteTimeout:          writeTimeout,
		IdleTimeout:           idleTimeout,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		CloseOnShutdown:       true,
		ReduceMemoryUsage:     true, // idle keep-alive connections give their buffers back
		SecureErrorLogMessage: true, // no request bytes (keys) in fasthttp's error messages
		Logger:                fastLogger{log},
	}
}

// headerReceived bounds the body about to be read by the current limits:
// its size (fasthttp streams it; the flow checks the announced length)
// and the time it may take to arrive.
func (s *Server) headerReceived(*fasthttp.RequestHeader) fasthttp.RequestConfig {
	l := s.limits.Load()
	return fasthttp.RequestConfig{MaxRequestBodySize: int(min(l.MaxBodyBytes, math.MaxInt)), ReadTimeout: l.BodyReadTimeout.D()}
}

func (s *Server) serveFast(ctx *fasthttp.RequestCtx) {
	x := &fastExchange{c: ctx, s: s}
	defer x.br.finish(s, ctx)
	if ambiguousFraming(&ctx.Request.Header) {
		s.refuseFraming(x)
		return
	}
	path := b2s(ctx.Path())
	switch {
	case path == "/healthz":
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.WriteString("ok\n")
		return
	case path == "/readyz":
		ok, msg := s.readiness()
		ctx.SetContentType("text/plain; charset=utf-8")
		if !ok {
			ctx.SetStatusCode(http.StatusServiceUnavailable)
		}
		ctx.WriteString(msg + "\n")
		return
	case s.ws != nil && s.ws.IsUpgrade(ctx):
		s.ws.Serve(ctx)
		return
	case s.pages != nil && (ctx.IsGet() || ctx.IsHead()) && isPage(path) && noBody(&ctx.Request.Header):
		// (the net/http adapter would read a streamed body whole, unbounded)
		s.pages(ctx)
		return
	}
	x.rctx.base, x.rctx.conn = s.base, ctx.Conn()
	s.handle(x, string(ctx.Request.Header.Peek("X-Request-ID")))
	x.rctx.release()
}

// ambiguousFraming reports a request carrying both Content-Length and
// Transfer-Encoding (issue 8, defect 7). fasthttp frames it by the chunked
// encoding; RFC 9112 section 6.1 says to close the connection after it,
// since a front proxy may have framed it by Content-Length and the rest
// would be a smuggled request. rpcgate refuses it outright.
func ambiguousFraming(h *fasthttp.RequestHeader) bool {
	if h.ContentLength() != -1 { // only a chunked request can carry both
		return false
	}
	raw := h.RawHeaders()
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if len(line) > len(contentLength) && bytes.EqualFold(line[:len(contentLength)], contentLength) {
			if rest := bytes.TrimLeft(line[len(contentLength):], " \t"); len(rest) > 0 && rest[0] == ':' {
				return true
			}
		}
	}
	return false
}

var contentLength = []byte("Content-Length")

func (s *Server) refuseFraming(x *fastExchange) {
	x.rctx.base = s.base
	rec := newRecord("")
	defer relay.Put(rec)
	x.setHeader("X-Request-Id", rec.ID)
	x.c.SetConnectionClose()
	reject(x, rec, http.StatusBadRequest, jsonrpc.CodeInvalidRequest,
		"request has both Content-Length and Transfer-Encoding; send one (RFC 9112 section 6.1)")
	s.finish(x, rec)
}

// noBody reports a request that carries no body: Content-Length 0, or
// neither Content-Length nor Transfer-Encoding (fasthttp reports -2, an
// "identity" length, for a GET that has neither).
func noBody(h *fasthttp.RequestHeader) bool {
	cl := h.ContentLength()
	return cl == 0 || cl == -2
}

// fastError answers requests fasthttp could not read: too large a body or
// header block, a read timeout, or a malformed request.
func (s *Server) fastError(ctx *fasthttp.RequestCtx, err error) {
	x := &fastExchange{c: ctx}
	x.rctx.base = s.base
	rec := newRecord("")
	defer relay.Put(rec)
	x.setHeader("X-Request-Id", rec.ID)
	var small *fasthttp.ErrSmallBuffer
	var ne interface{ Timeout() bool }
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		tooLarge(x, rec, s.limits.Load().MaxBodyBytes)
		answerUnread(ctx)
	case errors.As(err, &small):
		reject(x, rec, http.StatusRequestHeaderFieldsTooLarge, jsonrpc.CodeInvalidRequest,
			"request header block exceeds "+strconv.Itoa(maxHeaderBytes)+" bytes")
		answerUnread(ctx)
	case errors.As(err, &ne) && ne.Timeout():
		reject(x, rec, http.StatusRequestTimeout, jsonrpc.CodeInvalidRequest, "request not received in time")
	default:
		reject(x, rec, http.StatusBadRequest, jsonrpc.CodeInvalidRequest, "malformed HTTP request")
	}
	s.finish(x, rec)
}

// answerUnread sends the answer prepared in ctx to a client whose request
// was refused before it was read to the end, then lingers: fasthttp
// closes such a connection right after answering, and closing a socket
// with unread input resets it, so a client still sending its body would
// see a broken pipe instead of the answer. Like net/http, rpcgate half
// closes, reads and drops what the client still sends for a short while,
// and only then lets fasthttp close (its own write of the answer then
// fails and is dropped).
func answerUnread(ctx *fasthttp.RequestCtx) {
	conn := ctx.Conn()
	hc, ok := conn.(interface{ CloseWrite() error })
	if !ok {
		return
	}
	ctx.Response.SetConnectionClose()
	if _, err := ctx.Response.WriteTo(conn); err != nil {
		return
	}
	if hc.CloseWrite() != nil {
		return
	}
	conn.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, conn, lingerBytes)
}

// How long and how much answerUnread reads after answering.
const (
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 64 << 20
)

// fastExchange carries one fasthttp request through the flow.
type fastExchange struct {
	c    *fasthttp.RequestCtx
	s    *Server
	rctx fastCtx
	br   bodyReader
}

func (x *fastExchange) method() string       { return b2s(x.c.Method()) }
func (x *fastExchange) host() string         { return b2s(x.c.Host()) }
func (x *fastExchange) path() string         { return b2s(x.c.Path()) }
func (x *fastExchange) ctx() context.Context { return &x.rctx }

// body reads the streamed body as it arrives (limits.go).
func (x *fastExchange) body(limit int64) ([]byte, error) {
	ap, _ := x.peer()
	return x.br.read(x.s, x.c, ap.Addr(), limit)
}

// peer is the TCP peer with IPv4-in-IPv6 unmapped; false when the
// connection is not TCP (in-memory listeners in tests).
func (x *fastExchange) peer() (netip.AddrPort, bool) {
	a, ok := x.c.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ap := a.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

func (x *fastExchange) Peer() netip.Addr {
	ap, _ := x.peer()
	return ap.Addr()
}

func (x *fastExchange) appendPeer(b []byte) []byte {
	if ap, ok := x.peer(); ok {
		return ap.AppendTo(b)
	}
	return append(b, x.c.RemoteAddr().String()...)
}

func (x *fastExchange) Header(name string) string {
	return string(x.c.Request.Header.Peek(name))
}

func (x *fastExchange) HeaderValues(name string) []string {
	var out []string
	for _, v := range x.c.Request.Header.PeekAll(name) {
		out = append(out, string(v))
	}
	return out
}

func (x *fastExchange) Query(name string) string {
	return string(x.c.QueryArgs().Peek(name))
}

func (x *fastExchange) setHeader(name, value string) { x.c.Response.Header.Set(name, value) }

// send copies body: the flow's buffers go back to their pools before
// fasthttp writes the response.
func (x *fastExchange) send(status int, body []byte) {
	x.c.SetStatusCode(status)
	if body != nil {
		x.c.Response.Header.SetContentTypeBytes(jsonContentType)
		x.c.Response.SetBody(body)
	}
}

var jsonContentType = []byte("application/json")

// b2s views b as a string without copying; the string is valid only while
// fasthttp keeps b, i.e. until the handler returns.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// fastLogger routes fasthttp's own messages to slog at debug level,
// redacted: they may quote a request line or headers (issue 8, defect 6).
type fastLogger struct{ log *slog.Logger }

func (l fastLogger) Printf(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug("http server", "msg", telemetry.Redact(fmt.Sprintf(format, args...)))
	}
}

// pagesHandler adapts the net/http page handler for the public listener.
func pagesHandler(h http.Handler) fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(h)
}
