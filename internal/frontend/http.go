package frontend

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/rpcgate/rpcgate/internal/tenant"
)

// ServeHTTP implements http.Handler: the same flow as the public listener,
// for tests and for embedding rpcgate behind another net/http server.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/healthz":
		io.WriteString(w, "ok\n")
		return
	case r.URL.Path == "/readyz":
		ok, msg := s.readiness()
		if !ok {
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, msg+"\n")
		return
	case s.extra != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) && isPage(r.URL.Path):
		s.extra.ServeHTTP(w, r)
		return
	}
	x := &httpExchange{w: w, r: r, Request: tenant.HTTP(r)}
	s.handle(x, r.Header.Get("X-Request-ID"))
	if x.buf != nil {
		*x.buf = x.got[:0]
		putBuf(&bodyPool, x.buf)
	}
}

// httpExchange carries one net/http request through the flow.
type httpExchange struct {
	tenant.Request
	w   http.ResponseWriter
	r   *http.Request
	buf *[]byte // pooled body buffer, returned by ServeHTTP
	got []byte
}

func (x *httpExchange) method() string             { return x.r.Method }
func (x *httpExchange) host() string               { return x.r.Host }
func (x *httpExchange) path() string               { return x.r.URL.Path }
func (x *httpExchange) ctx() context.Context       { return x.r.Context() }
func (x *httpExchange) appendPeer(b []byte) []byte { return append(b, x.r.RemoteAddr...) }

func (x *httpExchange) body(limit int64) ([]byte, error) {
	if x.r.ContentLength > limit {
		return nil, errBodyTooLarge
	}
	x.buf = bodyPool.Get().(*[]byte)
	var err error
	x.got, err = readBody(x.r.Body, (*x.buf)[:0], limit)
	return x.got, err
}

func (x *httpExchange) setHeader(name, value string) { x.w.Header().Set(name, value) }

func (x *httpExchange) send(status int, body []byte) {
	if body != nil {
		h := x.w.Header()
		h["Content-Type"] = jsonCT
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	x.w.WriteHeader(status)
	if body != nil {
		x.w.Write(body)
	}
}
