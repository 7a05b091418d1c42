package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rpcgate/rpcgate/internal/telemetry"
)

// failingFleet fails every node operation the way a fleet whose registry
// is unreachable does.
type failingFleet struct{ err error }

func (f failingFleet) View() any                                         { return []any{} }
func (f failingFleet) AddNode(context.Context, string, NodeSpec) error   { return f.err }
func (f failingFleet) RemoveNode(context.Context, string, string) error  { return f.err }
func (f failingFleet) Drain(context.Context, string, string, bool) error { return f.err }
func (f failingFleet) Undrain(context.Context, string, string) error     { return f.err }
func (f failingFleet) Reload() error                                     { return f.err }

func serveAdmin(t *testing.T, h http.Handler, method, host, body string, header map[string]string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(method, "/admin/chains/eth/nodes", strings.NewReader(body))
	if body == "" {
		r = httptest.NewRequest(method, "/admin/reload", nil)
	}
	r.Host = host
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// Issue 8, defect 5: what only a web page sends is refused before the
// token is looked at.
func TestAdminGuard(t *testing.T) {
	t.Parallel()
	h := Handler("", telemetry.NewMetrics("test"), failingFleet{}, nil, slog.New(slog.DiscardHandler), []string{"admin.internal"})
	json := map[string]string{"Content-Type": "application/json"}
	node := `{"name":"x","url":"http://127.0.0.1:1"}`
	for _, tc := range []struct {
		name, method, host, body string
		header                   map[string]string
		want                     int
	}{
		{"JSON add on an IP", "POST", "127.0.0.1:9090", node, json, 201},
		{"JSON add on localhost", "POST", "localhost:9090", node, json, 201},
		{"JSON add on an allowed name", "POST", "admin.internal", node, json, 201},
		{"JSON add on IPv6", "POST", "[::1]:9090", node, json, 201},
		{"bodiless reload without a type", "POST", "127.0.0.1", "", nil, 200},
		{"Origin", "POST", "127.0.0.1", node, map[string]string{"Content-Type": "application/json", "Origin": "http://127.0.0.1:9090"}, 403},
		{"cross-site fetch", "POST", "127.0.0.1", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site fetch", "POST", "127.0.0.1", "", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"rebound name", "POST", "evil.example:9090", node, json, 403},
		{"text/plain body", "POST", "127.0.0.1", node, map[string]string{"Content-Type": "text/plain"}, 415},
		{"form body", "POST", "127.0.0.1", node, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"body without a type", "POST", "127.0.0.1", node, nil, 415},
		{"bodiless write with another type", "POST", "127.0.0.1", "", map[string]string{"Content-Type": "text/plain"}, 415},
		{"JSON with charset", "POST", "127.0.0.1", node, map[string]string{"Content-Type": "application/json; charset=utf-8"}, 201},
	} {
		code, body := serveAdmin(t, h, tc.method, tc.host, tc.body, tc.header)
		if code != tc.want {
			t.Errorf("%s: HTTP %d %s; want %d", tc.name, code, body, tc.want)
		}
	}
}

// Issue 8: an admin 500 echoed a Redis dial error, internal address
// included. The answer now carries a reference only.
func TestAdminInternalErrorHidesDetail(t *testing.T) {
	t.Parallel()
	err := errors.New("dial tcp 10.20.30.40:6379: connect: connection refused")
	h := Handler("", telemetry.NewMetrics("test"), failingFleet{err}, nil, slog.New(slog.DiscardHandler), nil)
	code, body := serveAdmin(t, h, "POST", "127.0.0.1", `{"name":"x","url":"http://127.0.0.1:1"}`, map[string]string{"Content-Type": "application/json"})
	if code != 500 || strings.Contains(body, "10.20.30.40") || !strings.Contains(body, "ref ") {
		t.Fatalf("HTTP %d %s; want 500 with a reference and no address", code, body)
	}
}
