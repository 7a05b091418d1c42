package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHostileInput sends bad requests over raw HTTP and checks each gets the
// contracted status and JSON-RPC error, and that the gateway keeps serving.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b")
	f.Mine(1)
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{ChainExtra: "    methods:\n      deny: [\"admin_*\"]\n"})

	call := func(id int, method string) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":[]}`, id, method)
	}
	bigBatch := make([]string, 1001)
	for i := range bigBatch {
		bigBatch[i] = call(i, "eth_chainId")
	}
	// Valid JSON just over the 10 MiB default limit.
	huge := `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":["` + strings.Repeat("a", 10<<20) + `"]}`

	cases := []struct {
		name       string
		method     string // HTTP method, POST when empty
		path       string // /eth when empty
		body       string
		wantStatus int
		wantCode   int // JSON-RPC error code of a single response; 0: none checked
		check      func(t *testing.T, body []byte)
	}{
		{name: "malformed JSON", body: `{"jsonrpc":"2.0","id":1,"method":`, wantStatus: 400, wantCode: -32700},
		{name: "not JSON at all", body: "\x00\xffGET / HTTP/1.1", wantStatus: 400, wantCode: -32700},
		{name: "empty object", body: `{}`, wantStatus: 400, wantCode: -32600},
		{name: "empty batch", body: `[]`, wantStatus: 400, wantCode: -32600},
		{name: "id is an array", body: `{"jsonrpc":"2.0","id":[1],"method":"eth_chainId"}`, wantStatus: 400, wantCode: -32600},
		{name: "method not a string", body: `{"jsonrpc":"2.0","id":1,"method":5}`, wantStatus: 400, wantCode: -32600},
		{
			name:       "batch with one invalid element",
			body:       "[" + call(1, "eth_chainId") + `,42,` + call(3, "eth_blockNumber") + "]",
			wantStatus: 200,
			check: func(t *testing.T, body []byte) {
				rs := parseBatch(t, body)
				if len(rs) != 3 {
					t.Fatalf("%d responses, want 3: %s", len(rs), body)
				}
				invalid := 0
				for _, r := range rs {
					switch {
					case r.Error != nil && r.Error.Code == -32600:
						invalid++
						if string(r.ID) != "null" {
							t.Errorf("invalid element answered with id %s, want null", r.ID)
						}
					case r.Error == nil && (string(r.ID) == "1" || string(r.ID) == "3") && len(r.Result) > 0:
					default:
						t.Errorf("unexpected element %+v in %s", r, body)
					}
				}
				if invalid != 1 {
					t.Errorf("%d -32600 elements, want 1: %s", invalid, body)
				}
			},
		},
		{name: "body over 10 MiB", body: huge, wantStatus: 413, check: wantAnyError},
		{name: "1001-item batch", body: "[" + strings.Join(bigBatch, ",") + "]", wantStatus: 400, wantCode: -32600},
		{name: "GET", method: http.MethodGet, wantStatus: 405},
		{name: "PUT", method: http.MethodPut, body: call(1, "eth_chainId"), wantStatus: 405},
		{
			name: "unknown chain", path: "/nope", body: call(1, "eth_chainId"), wantStatus: 404,
			check: func(t *testing.T, body []byte) {
				r := parseResponse(t, body)
				if r.Error == nil || !strings.Contains(r.Error.Message+string(r.Error.Data), "eth") {
					t.Errorf("want a JSON-RPC error listing chain \"eth\", got %s", body)
				}
			},
		},
		{name: "notification only", body: `{"jsonrpc":"2.0","method":"eth_blockNumber","params":[]}`, wantStatus: 204, check: wantEmpty},
		{name: "batch of notifications", body: `[{"jsonrpc":"2.0","method":"eth_chainId"},{"jsonrpc":"2.0","method":"eth_blockNumber"}]`, wantStatus: 204, check: wantEmpty},
		{
			name: "denied method", body: call(7, "admin_nodeInfo"), wantStatus: 200, wantCode: -32601,
			check: func(t *testing.T, body []byte) {
				for name, p := range ps {
					if n := p.Count("admin_nodeInfo"); n != 0 {
						t.Errorf("denied method reached node %s %d times", name, n)
					}
				}
			},
		},
		{name: "deep nesting, unclosed", body: strings.Repeat("[", 100_000), wantStatus: 400},
		{name: "deep nesting in id", body: `{"jsonrpc":"2.0","id":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `,"method":"eth_chainId"}`, wantStatus: 400},
		{name: "deep nesting, objects", body: strings.Repeat(`{"a":`, 100_000), wantStatus: 400},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method, path := tc.method, tc.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/eth"
			}
			status, body, err := rawRequest(g.Base+path, method, tc.body)
			if err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			if status != tc.wantStatus {
				t.Errorf("HTTP %d, want %d; body %s", status, tc.wantStatus, clip(body))
			}
			if tc.wantCode != 0 {
				if code := errorCode(t, body); code != tc.wantCode {
					t.Errorf("JSON-RPC code %d, want %d; body %s", code, tc.wantCode, clip(body))
				}
			}
			if tc.check != nil {
				tc.check(t, body)
			}
			if !alive(g) {
				t.Fatalf("gateway stopped serving after %q", tc.name)
			}
		})
	}

	status, _, body := g.post(context.Background(), "/eth", []byte(call(99, "eth_blockNumber")))
	r := parseResponse(t, body)
	if status != 200 || r.Error != nil || compact(t, r.Result) != `"0x1"` || string(r.ID) != "99" {
		t.Fatalf("normal request after hostile input: HTTP %d %s", status, body)
	}
}

// rawRequest sends body with the given HTTP method and returns status and body.
func rawRequest(url, method, body string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// alive is true when the gateway still answers a plain call.
func alive(g *Gateway) bool {
	status, _, _ := g.post(context.Background(), "/eth", []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}`))
	return status == 200 && !g.exited()
}

func wantAnyError(t *testing.T, body []byte) {
	t.Helper()
	if r := parseResponse(t, body); r.Error == nil || r.Error.Code == 0 {
		t.Errorf("want a JSON-RPC error object, got %s", clip(body))
	}
}

func wantEmpty(t *testing.T, body []byte) {
	t.Helper()
	if len(body) != 0 {
		t.Errorf("want an empty body, got %s", clip(body))
	}
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + fmt.Sprintf("... (%d bytes)", len(b))
	}
	return string(b)
}
