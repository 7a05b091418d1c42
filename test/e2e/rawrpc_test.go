package e2e

import (
	"bytes"
	"encoding/json"
	"testing"
)

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
