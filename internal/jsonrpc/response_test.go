package jsonrpc

import (
	"errors"
	"testing"
)

func TestScanResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body         string
		id, result         string // "" when absent
		code               int
		msg, data, errText string
	}{
		{name: "result", body: ` {"jsonrpc":"2.0","id":1,"result":"0x10"} `, id: "1", result: `"0x10"`},
		{name: "null result", body: `{"jsonrpc":"2.0","id":"a","result":null}`, id: `"a"`, result: "null"},
		{name: "object result", body: `{"id":1,"result":{"hash":"0x1","txs":[1,2]},"jsonrpc":"2.0"}`, id: "1", result: `{"hash":"0x1","txs":[1,2]}`},
		{name: "error", body: `{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"header not found"}}`, id: "1", code: -32000, msg: "header not found"},
		{name: "error with data", body: `{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted","data":"0x08c379a0"}}`, id: "1", code: 3, msg: "execution reverted", data: `"0x08c379a0"`},
		{name: "escaped message", body: `{"jsonrpc":"2.0","id":1,"error":{"message":"a\"b\u00e9","code":-32603}}`, id: "1", code: -32603, msg: "a\"bé"},
		{name: "error null beside result", body: `{"jsonrpc":"2.0","id":1,"result":"0x1","error":null}`, id: "1", result: `"0x1"`},
		{name: "both", body: `{"jsonrpc":"2.0","id":1,"result":"0x1","error":{"code":-1,"message":"x"}}`, id: "1", result: `"0x1"`, code: -1, msg: "x"},
		{name: "no id", body: `{"jsonrpc":"2.0","result":1}`, result: "1"},
		{name: "neither", body: `{"jsonrpc":"2.0","id":1}`, errText: "jsonrpc: malformed response: response has neither result nor error at offset 0"},
		{name: "only error null", body: `{"jsonrpc":"2.0","id":1,"error":null}`, errText: "jsonrpc: malformed response: response has neither result nor error at offset 0"},
		{name: "empty object", body: `{}`, errText: "jsonrpc: malformed response: response has neither result nor error at offset 1"},
		{name: "error string", body: `{"id":1,"error":"boom"}`, errText: "jsonrpc: malformed response: error is not an object at offset 16"},
		{name: "error code float", body: `{"id":1,"error":{"code":1.5,"message":"x"}}`, errText: "jsonrpc: malformed response: error code is not an integer at offset 24"},
		{name: "error no code", body: `{"id":1,"error":{"message":"x"}}`, errText: "jsonrpc: malformed response: error has no code at offset 16"},
		{name: "message not string", body: `{"id":1,"error":{"code":1,"message":2}}`, errText: "jsonrpc: malformed response: error message is not a string at offset 36"},
		{name: "duplicate result", body: `{"id":1,"result":1,"result":2}`, errText: "jsonrpc: malformed response: duplicate member at offset 19"},
		{name: "array", body: `[{"id":1,"result":1}]`, errText: "jsonrpc: malformed response: not an object at offset 0"},
		{name: "html", body: `<html>502</html>`, errText: "jsonrpc: malformed response: invalid character at offset 0"},
		{name: "truncated", body: `{"id":1,"result":"0x`, errText: "jsonrpc: malformed response: unterminated string at offset 20"},
		{name: "trailing", body: `{"id":1,"result":1}]`, errText: "jsonrpc: malformed response: data after the JSON value at offset 19"},
		{name: "empty", body: ``, errText: "jsonrpc: malformed response: unexpected end of input at offset 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := ScanResponse([]byte(tt.body))
			if tt.errText != "" {
				var me *MalformedError
				if err == nil || err.Error() != tt.errText || !errors.As(err, &me) {
					t.Fatalf("err = %v, want %s", err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(r.ID) != tt.id || string(r.Result) != tt.result || (r.Result == nil) != (tt.result == "") {
				t.Errorf("id=%s result=%s, want id=%s result=%s", r.ID, r.Result, tt.id, tt.result)
			}
			if r.ID != nil && string(r.Raw[r.IDStart:r.IDEnd]) != tt.id {
				t.Errorf("id range gives %s", r.Raw[r.IDStart:r.IDEnd])
			}
			switch {
			case tt.msg == "" && r.Err != nil:
				t.Errorf("Err = %v, want none", r.Err)
			case tt.msg != "" && (r.Err == nil || r.Err.Code != tt.code || r.Err.Message != tt.msg || string(r.Err.Data) != tt.data):
				t.Errorf("Err = %+v, want code %d message %q data %s", r.Err, tt.code, tt.msg, tt.data)
			}
		})
	}
}

func TestScanResponseBatch(t *testing.T) {
	t.Parallel()
	dst := make([]Response, 0, 4)
	rs, err := ScanResponseBatch([]byte(` [ {"id":2,"result":"b"} , {"id":1,"error":{"code":-32000,"message":"m"}} ] `), dst)
	if err != nil || len(rs) != 2 || string(rs[0].ID) != "2" || string(rs[0].Raw) != `{"id":2,"result":"b"}` || rs[1].Err == nil || &rs[0] != &dst[:1][0] {
		t.Fatalf("batch: %v %+v", err, rs)
	}
	if rs, err = ScanResponseBatch([]byte(`{"id":1,"result":"a"}`), dst); err != nil || len(rs) != 1 || string(rs[0].Result) != `"a"` {
		t.Errorf("single object as batch: %v %+v", err, rs)
	}
	if rs, err = ScanResponseBatch([]byte(`[]`), dst); err != nil || len(rs) != 0 {
		t.Errorf("empty batch: %v %+v", err, rs)
	}
	for _, bad := range []string{`[{"id":1,"result":1},2]`, `[{"id":1}]`, `[{"id":1,"result":1}`, `[{"id":1,"result":1}]x`, `"x"`, ``, `[{"id":1,"result":1},]`} {
		var me *MalformedError
		if rs, err := ScanResponseBatch([]byte(bad), dst); err == nil || !errors.As(err, &me) || len(rs) != 0 {
			t.Errorf("ScanResponseBatch(%s) = %d, %v; want a MalformedError", bad, len(rs), err)
		}
	}
}

func TestRawAccessors(t *testing.T) {
	t.Parallel()
	arr := []byte(` [ "0x1" , {"a":[1,2]}, null ] `)
	for i, want := range []string{`"0x1"`, `{"a":[1,2]}`, `null`} {
		if got, ok := ArrayElem(arr, i); !ok || string(got) != want {
			t.Errorf("ArrayElem(%d) = %s %v, want %s", i, got, ok, want)
		}
	}
	for _, c := range []struct {
		arr string
		n   int
	}{{`[1,2]`, 2}, {`[]`, 0}, {`{"a":1}`, 0}, {`[1,`, 1}, {`[1 2]`, 1}, {`[1]`, -1}, {``, 0}} {
		if got, ok := ArrayElem([]byte(c.arr), c.n); ok {
			t.Errorf("ArrayElem(%s, %d) = %s, want none", c.arr, c.n, got)
		}
	}
	obj := []byte(`{"fromBlock":"0x1","to\u0042lock":"latest","fromBlock":"0x2"}`)
	if got, ok := ObjectMember(obj, "fromBlock"); !ok || string(got) != `"0x1"` {
		t.Errorf("ObjectMember fromBlock = %s %v", got, ok)
	}
	if got, ok := ObjectMember(obj, "toBlock"); !ok || string(got) != `"latest"` {
		t.Errorf("ObjectMember toBlock = %s %v", got, ok)
	}
	for _, o := range []string{`{"a":1}`, `[]`, `{"b":}`, `{`} {
		if got, ok := ObjectMember([]byte(o), "b"); ok {
			t.Errorf("ObjectMember(%s, b) = %s, want none", o, got)
		}
	}
	if s, ok := Unquote(nil, []byte(`"a\u00e9\n"`)); !ok || string(s) != "aé\n" {
		t.Errorf("Unquote = %q %v", s, ok)
	}
	if _, ok := Unquote(nil, []byte(`"a`)); ok {
		t.Error("Unquote accepted an unterminated string")
	}
}
