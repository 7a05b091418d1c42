package demo

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startFleet starts a fast fleet for a test and closes it afterwards.
func startFleet(t *testing.T, opts Options) *Fleet {
	t.Helper()
	if opts.BlockTime == 0 {
		opts.BlockTime = 50 * time.Millisecond
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	f, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func nodeURL(t *testing.T, f *Fleet, name string) string {
	t.Helper()
	for _, n := range f.Nodes() {
		if n.Name == name {
			return n.URL
		}
	}
	t.Fatalf("no node %q in %v", name, f.Nodes())
	return ""
}

// client is a fresh HTTP client per test so that dropped connections of one
// test never touch another's pool.
func client(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// response is a JSON-RPC response decoded strictly: no unknown members.
type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *rpcError       `json:"error"`
}

func decodeResponse(t *testing.T, raw []byte) response {
	t.Helper()
	var r response
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decode response %s: %v", raw, err)
	}
	if r.JSONRPC != "2.0" {
		t.Fatalf("jsonrpc = %q in %s", r.JSONRPC, raw)
	}
	if (r.Result == nil) == (r.Error == nil) {
		t.Fatalf("want exactly one of result and error in %s", raw)
	}
	return r
}

// post sends body and returns the HTTP status, headers and body.
func post(t *testing.T, c *http.Client, url, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, raw
}

// call makes one JSON-RPC call and returns the decoded response.
func call(t *testing.T, c *http.Client, url, method string, params ...any) response {
	t.Helper()
	if params == nil {
		params = []any{}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	resp, raw := post(t, c, url, string(body))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", method, resp.StatusCode, raw)
	}
	r := decodeResponse(t, raw)
	if string(r.ID) != "1" {
		t.Fatalf("%s: id %s, want 1", method, r.ID)
	}
	return r
}

// result calls method and decodes its result into out, failing on an error.
func result(t *testing.T, c *http.Client, url string, out any, method string, params ...any) {
	t.Helper()
	r := call(t, c, url, method, params...)
	if r.Error != nil {
		t.Fatalf("%s: error %d %q", method, r.Error.Code, r.Error.Message)
	}
	if err := json.Unmarshal(r.Result, out); err != nil {
		t.Fatalf("%s: result %s: %v", method, r.Result, err)
	}
}

func quantity(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := parseQuantity(s)
	if err != nil {
		t.Fatalf("quantity %q: %v", s, err)
	}
	return n
}

func blockNumber(t *testing.T, c *http.Client, url string) uint64 {
	t.Helper()
	var s string
	result(t, c, url, &s, "eth_blockNumber")
	return quantity(t, s)
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hexString(t *testing.T, s string, bytes int) {
	t.Helper()
	if len(s) != 2+2*bytes || !strings.HasPrefix(s, "0x") {
		t.Fatalf("%q is not %d bytes of hex", s, bytes)
	}
	if _, err := parseData(s); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
}
