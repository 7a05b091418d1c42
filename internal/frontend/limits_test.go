package frontend

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/config"
)

// limitServer is benchServer with its limits changed by edit.
func limitServer(t *testing.T, edit func(*config.Limits)) *Server {
	s, _ := benchServer(t)
	l := *s.limits.Load()
	edit(&l)
	s.SetLimits(l)
	return s
}

// Issue 8, defect 1: body bytes past the listener's cap are refused with
// 503 -32008; bodies are counted as they arrive, not by their announced
// length.
func TestBodyLimits(t *testing.T) {
	t.Parallel()
	body := `{"jsonrpc":"2.0","id":1,"method":"admin_x","params":["` + strings.Repeat("a", 200000) + `"]}`
	req := "POST /eth HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	for _, tc := range []struct {
		name     string
		edit     func(*config.Limits)
		status   int
		contains string
	}{
		{"under every limit", func(*config.Limits) {}, 200, `"code":-32601`},
		{"over the listener's cap", func(l *config.Limits) { l.MaxInflightBodyBytes = 100000 }, 503, `"code":-32008`},
		{"announced over max_body_bytes", func(l *config.Limits) { l.MaxBodyBytes = 1000 }, 413, "exceeds the limit of 1000 bytes"},
		{"chunked over max_body_bytes", func(l *config.Limits) { l.MaxBodyBytes = 1000 }, 413, "exceeds the limit of 1000 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := limitServer(t, tc.edit)
			raw := req
			if strings.HasPrefix(tc.name, "chunked") {
				raw = "POST /eth HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n0\r\n\r\n"
			}
			resp, got := rawFast(t, s, raw)
			if resp.StatusCode != tc.status || !strings.Contains(got, tc.contains) {
				t.Fatalf("HTTP %d %.300s; want %d with %q", resp.StatusCode, got, tc.status, tc.contains)
			}
			if tc.status == 503 && resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if n := s.admit.total.Load(); n != 0 {
				t.Errorf("%d body bytes still reserved after the answer", n)
			}
		})
	}
}

// A body that stops arriving is cut by limits.body_read_timeout with 408.
func TestBodyReadTimeout(t *testing.T) {
	t.Parallel()
	s := limitServer(t, func(l *config.Limits) { l.BodyReadTimeout = config.Duration(100 * time.Millisecond) })
	resp, got := rawFast(t, s, "POST /eth HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\":")
	if resp.StatusCode != 408 || !strings.Contains(got, "not received in time") {
		t.Fatalf("HTTP %d %s; want 408", resp.StatusCode, got)
	}
}

// Issue 8, defect 7: Content-Length with Transfer-Encoding is refused and
// the connection closed, whichever header comes first.
func TestAmbiguousFraming(t *testing.T) {
	t.Parallel()
	s, _ := benchServer(t)
	for _, h := range []string{"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "Transfer-Encoding: chunked\r\ncontent-length: 5\r\n"} {
		resp, got := rawFast(t, s, "POST /eth HTTP/1.1\r\nHost: x\r\n"+h+"\r\n2\r\n{}\r\n0\r\n\r\n")
		if resp.StatusCode != 400 || !resp.Close || !strings.Contains(got, "both Content-Length and Transfer-Encoding") {
			t.Errorf("%q: HTTP %d close=%v %s; want 400 and close", h, resp.StatusCode, resp.Close, got)
		}
	}
}

// A page request with a body is not handed to the pages' net/http adapter,
// which would read a streamed body whole: it gets the flow's 405.
func TestPageWithBody(t *testing.T) {
	t.Parallel()
	s, _ := benchServer(t)
	s.extra, s.pages = http.NotFoundHandler(), pagesHandler(http.NotFoundHandler())
	resp, got := rawFast(t, s, "GET /status HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n")
	if resp.StatusCode != 405 || !strings.Contains(got, `"code":-32600`) {
		t.Fatalf("HTTP %d %s; want 405 -32600", resp.StatusCode, got)
	}
}
