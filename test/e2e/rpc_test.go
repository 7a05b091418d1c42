package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// The one way tests send JSON-RPC over HTTP: sendRPC (send is sendRPC with
// the default client and a 60 s deadline), with rpcBody / rpcBodyID to make
// a request. Gateway.post, call (the load's read), Anvil.Call and the fault
// proxies all go through it. Below it, the answer's parsers: rpcReply's
// accessors for values, and rawResponse for tests that look at bytes.

// rpcBody is a single JSON-RPC request with id 1.
func rpcBody(method string, params ...any) []byte {
	if params == nil {
		params = []any{}
	}
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		panic(err)
	}
	return b
}

// rpcReply is one answer as the client saw it. Err is a transport error
// (no HTTP answer at all).
type rpcReply struct {
	Status int
	Header http.Header
	Body   []byte
	Err    error
}

// gatewayErr is the gateway's own JSON-RPC error, with the data the tenant
// stage attaches to 429s.
type gatewayErr struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    *struct {
		Limit        string `json:"limit"`
		RetryAfterMs int64  `json:"retry_after_ms"`
	} `json:"data"`
}

// Result returns the result member (nil when absent or null).
func (r rpcReply) Result() json.RawMessage {
	var m struct {
		Result json.RawMessage `json:"result"`
	}
	if json.Unmarshal(r.Body, &m) != nil || string(m.Result) == "null" {
		return nil
	}
	return m.Result
}

// Error returns the error member, nil when there is none.
func (r rpcReply) Error() *gatewayErr {
	var m struct {
		Error *gatewayErr `json:"error"`
	}
	if json.Unmarshal(r.Body, &m) != nil {
		return nil
	}
	return m.Error
}

// String describes the reply for failure messages.
func (r rpcReply) String() string {
	if r.Err != nil {
		return "transport error: " + r.Err.Error()
	}
	return fmt.Sprintf("HTTP %d (Retry-After %q, WWW-Authenticate %q): %.300s",
		r.Status, r.Header.Get("Retry-After"), r.Header.Get("WWW-Authenticate"), r.Body)
}

// OK reports HTTP 200 with a non-null result and no error.
func (r rpcReply) OK() bool {
	return r.Err == nil && r.Status == http.StatusOK && r.Result() != nil && r.Error() == nil
}

// sendRPC posts body to url with the given headers.
func sendRPC(ctx context.Context, client *http.Client, url string, hdr map[string]string, body []byte) rpcReply {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return rpcReply{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return rpcReply{Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return rpcReply{Status: resp.StatusCode, Header: resp.Header, Err: err}
	}
	return rpcReply{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// send is sendRPC with a 60 s deadline and the default client.
func send(url string, hdr map[string]string, body []byte) rpcReply {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return sendRPC(ctx, http.DefaultClient, url, hdr, body)
}

// rpcBodyID is a single JSON-RPC request with the given id (any JSON value).
func rpcBodyID(id any, method string, params ...any) []byte {
	if params == nil {
		params = []any{}
	}
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		panic(err)
	}
	return b
}

// rpcError is a JSON-RPC error object as a Go error.
type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message) }

// Raw JSON-RPC response parsing for tests that look at bytes, not values.

// rawResponse keeps every member as the bytes the server sent. HasID tells
// an "id": null apart from a missing id.
type rawResponse struct {
	JSONRPC string
	ID      json.RawMessage
	HasID   bool
	Result  json.RawMessage
	Error   *rpcError
}

func parseResponse(t testing.TB, data []byte) rawResponse {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, data)
	}
	var r rawResponse
	_ = json.Unmarshal(m["jsonrpc"], &r.JSONRPC)
	r.ID, r.HasID = m["id"]
	r.Result = m["result"]
	if e, ok := m["error"]; ok && string(e) != "null" {
		r.Error = &rpcError{}
		if err := json.Unmarshal(e, r.Error); err != nil {
			t.Fatalf("error member is not an error object: %v\n%s", err, data)
		}
	}
	return r
}

func parseBatch(t testing.TB, data []byte) []rawResponse {
	t.Helper()
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		t.Fatalf("batch response is not a JSON array: %v\n%s", err, data)
	}
	out := make([]rawResponse, len(items))
	for i, it := range items {
		out[i] = parseResponse(t, it)
	}
	return out
}

// errorCode is the JSON-RPC error code in a single response, 0 for none.
func errorCode(t testing.TB, data []byte) int {
	t.Helper()
	var m struct {
		Error *rpcError `json:"error"`
	}
	if json.Unmarshal(data, &m) != nil || m.Error == nil {
		return 0
	}
	return m.Error.Code
}

// compact normalises JSON whitespace so values can be compared as bytes.
func compact(t testing.TB, raw json.RawMessage) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("invalid JSON %q: %v", raw, err)
	}
	return b.String()
}
