package jsonrpc

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	`{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x10",false]}`,
	`[{"jsonrpc":"2.0","id":"a","method":"eth_call","params":[{}]},{"jsonrpc":"2.0","method":"n"},1,[]]`,
	`{"jsonrpc":"\u0032.0","\u0069d":1.5e3,"method":"eth_\u0063all","params":{}}`,
	`{"jsonrpc":"2.0","id":1,"method":"eth_chainId","Method":"admin_nodeInfo"}`,
	`[{"jsonrpc":"2.0","id":1,"method":"eth_chainId","\u004dethod":"admin_nodeInfo"},{"jsonrpc":"2.0","id":2,"m\u0065thod":"x"}]`,
	`{"jsonrpc":"2.0","id":1,"method":"m","param\u017f":[1],"ID":2,"JSONRPC":"1.0"}`,
	`{"id":{"a":1},"method":"m","method":"n"}`,
	`[]`, ` [ ] `, `null`, `"x"`, `{"a":"\ud800"}`, `[[[[[[]]]]]]`, "\xef\xbb\xbf{}",
	`{"jsonrpc":"2.0","id":1,"result":"0x1"}`,
	`{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"header not found","data":null}}`,
	`[{"id":1,"result":null},{"id":2,"error":{"code":1,"message":"x"}}]`,
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		reqs, batch, err := Decode(body, 50)
		valid := json.Valid(body)
		if err != nil {
			if valid && err.Code == CodeParse {
				t.Fatalf("valid JSON %q gave a parse error: %s", body, err.Message)
			}
			if reqs != nil {
				t.Fatalf("error %v with %d requests", err, len(reqs))
			}
			return
		}
		if !valid {
			t.Fatalf("invalid JSON %q decoded without error", body)
		}
		if !batch && len(reqs) != 1 {
			t.Fatalf("single body gave %d requests", len(reqs))
		}
		for i := range reqs {
			r := &reqs[i]
			if !json.Valid(r.Raw) || !bytes.Contains(body, r.Raw) {
				t.Fatalf("Raw %q is not a valid slice of the body", r.Raw)
			}
			if r.ID != nil && (!bytes.Equal(r.Raw[r.IDStart:r.IDEnd], r.ID) || !json.Valid(r.ID)) {
				t.Fatalf("ID %q does not match its range", r.ID)
			}
			if r.Err == nil {
				if r.Method == "" || r.Raw[0] != '{' {
					t.Fatalf("valid request without a method: %q", r.Raw)
				}
				if r.Params != nil && r.Params[0] != '[' && r.Params[0] != '{' {
					t.Fatalf("params %q", r.Params)
				}
				if r.IsCall() == r.IsNotification() {
					t.Fatal("a valid request is exactly one of call and notification")
				}
				// Whatever we accept, encoding/json reads the same method.
				var std struct{ Method string }
				// (encoding/json also replaces invalid UTF-8, which we forward as is.)
				// encoding/json folds case and unescapes member names; a name
				// it would read as "method" is refused unless exact (issue 8,
				// defect 3), so it must always read the method we route on.
				if json.Unmarshal(r.Raw, &std) == nil && std.Method != r.Method && utf8.ValidString(r.Method) {
					t.Fatalf("method %q, encoding/json reads %q", r.Method, std.Method)
				}
			} else if r.Err.Code != CodeInvalidRequest {
				t.Fatalf("element error %v", r.Err)
			}
		}
		if len(reqs) > 0 { // splicing an id keeps a valid object
			r := reqs[0]
			if r.ID != nil && !json.Valid(SpliceID(r.Raw, r.IDStart, r.IDEnd, []byte(`"gw-1"`), nil)) {
				t.Fatalf("SpliceID broke %q", r.Raw)
			}
		}
	})
}

func FuzzScanResponse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ScanResponse(body)
		if err == nil {
			if !json.Valid(body) {
				t.Fatalf("invalid JSON %q accepted", body)
			}
			if r.Result == nil && r.Err == nil {
				t.Fatalf("response %q without result or error", body)
			}
			if r.ID != nil && !bytes.Equal(r.Raw[r.IDStart:r.IDEnd], r.ID) {
				t.Fatalf("ID %q does not match its range", r.ID)
			}
		}
		rs, err := ScanResponseBatch(body, nil)
		if err == nil {
			if !json.Valid(body) {
				t.Fatalf("invalid JSON %q accepted as a batch", body)
			}
			for _, r := range rs {
				if !json.Valid(r.Raw) {
					t.Fatalf("element %q", r.Raw)
				}
			}
		}
		msg := "x"
		if r.Err != nil {
			msg = r.Err.Message
		}
		if out := AppendError(nil, r.ID, 1, msg, nil); r.ID != nil && !json.Valid(out) {
			t.Fatalf("AppendError gave invalid JSON %q", out)
		}
	})
}
