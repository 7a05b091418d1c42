package frontend

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// These cases need no node: they are answered by the frontend itself, or
// by the executor finding no admitted node (the nodes' port is closed and
// their checkers never ran).
func TestFrontendAnswers(t *testing.T) {
	t.Parallel()
	s, _ := benchServer(t)
	trs := transports(t, s)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     int    // JSON-RPC error code, 0 for none
		id                       string // raw id expected in the answer
		header                   map[string]string
		contains                 string
		reqID                    string
		notHeader                map[string]string
	}{
		{name: "liveness", method: "GET", path: "/healthz", status: 200},
		{name: "client request id is echoed", method: "POST", path: "/nope", body: `{}`, status: 404, code: -32001, id: "null",
			reqID: "abc-123", header: map[string]string{"X-Request-Id": "abc-123"}},
		{name: "unsafe request id is replaced", method: "POST", path: "/nope", body: `{}`, status: 404, code: -32001, id: "null",
			reqID: `evil "id" {}`, notHeader: map[string]string{"X-Request-Id": `evil "id" {}`}},
		{name: "not ready before the first node check", method: "GET", path: "/readyz", status: 503, contains: "checking nodes"},
		{name: "CORS preflight", method: "OPTIONS", path: "/eth", status: 204,
			header: map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "POST, OPTIONS"}},
		{name: "GET is not JSON-RPC", method: "GET", path: "/eth", status: 405, code: -32600, id: "null",
			header: map[string]string{"Allow": "POST, OPTIONS"}},
		{name: "unknown chain lists chains", method: "POST", path: "/nope", body: `{}`, status: 404, code: -32001, id: "null", contains: "/eth"},
		{name: "extra path segment", method: "POST", path: "/eth/x/y", body: `{}`, status: 404, code: -32001, id: "null"},
		{name: "parse error", method: "POST", path: "/eth", body: `{"jsonrpc":`, status: 400, code: -32700, id: "null"},
		{name: "invalid request keeps id", method: "POST", path: "/eth", body: `{"jsonrpc":"1.0","id":"q","method":"m"}`, status: 400, code: -32600, id: `"q"`},
		{name: "denied method, id verbatim", method: "POST", path: "/eth", body: `{"jsonrpc":"2.0","id":1.50,"method":"admin_peers"}`, status: 200, code: -32601, id: "1.50"},
		{name: "single chain at root", method: "POST", path: "/", body: `{"jsonrpc":"2.0","id":7,"method":"admin_peers"}`, status: 200, code: -32601, id: "7"},
		{name: "no admitted node", method: "POST", path: "/eth", body: `{"jsonrpc":"2.0","id":"x","method":"eth_chainId"}`, status: 503, code: -32002, id: `"x"`,
			header: map[string]string{"Retry-After": "1"}},
		{name: "denied notification gets no body", method: "POST", path: "/eth", body: `{"jsonrpc":"2.0","method":"admin_peers"}`, status: 204},
		{name: "batch of denied and invalid", method: "POST", path: "/eth", body: `[{"jsonrpc":"2.0","id":1,"method":"admin_x"},5]`, status: 200,
			contains: `[{"jsonrpc":"2.0","id":1,"error":{"code":-32601`},
	} {
		for _, tr := range trs {
			t.Run(tr.name+"/"+tc.name, func(t *testing.T) {
				r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
				if tc.reqID != "" {
					r.Header["X-Request-Id"] = []string{tc.reqID}
				}
				w := tr.do(t, r)
				for k, v := range tc.notHeader {
					if got := w.Header.Get(k); got == v || got == "" {
						t.Errorf("header %s = %q, want a fresh value", k, got)
					}
				}
				if w.Code != tc.status {
					t.Fatalf("status %d, want %d; body %s", w.Code, tc.status, w.Body)
				}
				for k, v := range tc.header {
					if got := w.Header.Get(k); got != v {
						t.Errorf("header %s = %q, want %q", k, got, v)
					}
				}
				if tc.contains != "" && !strings.Contains(w.Body, tc.contains) {
					t.Errorf("body lacks %q: %s", tc.contains, w.Body)
				}
				if tc.code == 0 {
					return
				}
				var ans struct {
					ID    json.RawMessage
					Error struct{ Code int }
				}
				if err := json.Unmarshal([]byte(w.Body), &ans); err != nil {
					t.Fatalf("answer is not JSON: %v: %s", err, w.Body)
				}
				if ans.Error.Code != tc.code || string(ans.ID) != tc.id {
					t.Errorf("code %d id %s, want %d %s; body %s", ans.Error.Code, ans.ID, tc.code, tc.id, w.Body)
				}
				if ct := w.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
			})
		}
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	s := bodyLimitServer(t, 64)
	big := `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":["` + strings.Repeat("a", 100) + `"]}`
	for _, tr := range transports(t, s) {
		for _, chunked := range []bool{false, true} {
			r := httptest.NewRequest("POST", "/eth", strings.NewReader(big))
			if chunked {
				r.ContentLength = -1 // unknown length: the limit applies while reading
			}
			w := tr.do(t, r)
			if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body, "exceeds the limit of 64 bytes") {
				t.Errorf("%s chunked=%v: status %d body %s", tr.name, chunked, w.Code, w.Body)
			}
		}
	}
}
