package frontend

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/valyala/fasthttp/fasthttputil"
)

// answer is what a client saw.
type answer struct {
	Code   int
	Header http.Header
	Body   string
}

// transport sends a request built with httptest.NewRequest to the server.
type transport struct {
	name string
	do   func(t *testing.T, r *http.Request) answer
}

// transports serves s both ways the gateway can: through ServeHTTP
// (net/http) and through the public listener's fasthttp server, over an
// in-memory connection.
func transports(t *testing.T, s *Server) []transport {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	srv := s.HTTPServer(slog.New(slog.DiscardHandler))
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown(); ln.Close() })
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) { return ln.Dial() },
	}}
	t.Cleanup(client.CloseIdleConnections)
	return []transport{
		{"net/http", func(t *testing.T, r *http.Request) answer {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			return answer{w.Code, w.Header(), w.Body.String()}
		}},
		{"fasthttp", func(t *testing.T, r *http.Request) answer {
			req, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), r.Body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header = r.Header.Clone()
			req.ContentLength = r.ContentLength
			if req.ContentLength == 0 && r.Body != http.NoBody && r.Body != nil {
				req.ContentLength = -1
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			return answer{resp.StatusCode, resp.Header, string(b)}
		}},
	}
}

// rawFast writes raw bytes to the fasthttp listener and reads one answer.
func rawFast(t *testing.T, s *Server, raw string) (*http.Response, string) {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	srv := s.HTTPServer(slog.New(slog.DiscardHandler))
	go srv.Serve(ln)
	defer func() { srv.Shutdown(); ln.Close() }()
	c, err := ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go io.WriteString(c, raw)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// Requests fasthttp cannot read still get a JSON-RPC error with the right
// HTTP status, from the public listener's error handler.
func TestFastUnreadable(t *testing.T) {
	t.Parallel()
	s := bodyLimitServer(t, 64)
	for _, tc := range []struct {
		name, raw string
		status    int
		contains  string
	}{
		{"header block too large", "POST /eth HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", maxHeaderBytes) + "\r\n\r\n",
			431, "request header block exceeds"},
		{"declared body over the limit", "POST /eth HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("a", 1000),
			413, "exceeds the limit of 64 bytes"},
		{"chunked body over the limit", "POST /eth HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n80\r\n" +
			strings.Repeat("a", 128) + "\r\n0\r\n\r\n", 413, "exceeds the limit of 64 bytes"},
		{"malformed request line", "POST\r\n\r\n", 400, `"code":-32600`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawFast(t, s, tc.raw)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.contains) {
				t.Fatalf("status %d body %s, want %d with %q", resp.StatusCode, body, tc.status, tc.contains)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if !strings.HasPrefix(body, `{"jsonrpc":"2.0","id":null,"error":{`) {
				t.Errorf("not a JSON-RPC error: %s", body)
			}
		})
	}
}
