package jsonrpc

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// summary renders a Decode result in one line per request, for table and
// golden tests.
func summary(reqs []Request, batch bool, err *Error) string {
	var b strings.Builder
	if err != nil {
		b.WriteString("error " + itoa(err.Code) + " " + err.Message)
		if batch {
			b.WriteString(" (batch)")
		}
		return b.String()
	}
	if batch {
		b.WriteString("batch\n")
	}
	for i, r := range reqs {
		if i > 0 {
			b.WriteByte('\n')
		}
		id := "-"
		if r.ID != nil {
			id = string(r.ID)
		}
		switch {
		case r.Err != nil:
			b.WriteString("invalid id=" + id + " err=" + itoa(r.Err.Code) + " " + r.Err.Message)
		case r.IsNotification():
			b.WriteString("notification method=" + r.Method + " params=" + string(r.Params))
		default:
			b.WriteString("call id=" + id + " method=" + r.Method + " params=" + string(r.Params))
		}
	}
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
		maxBatch         int
	}{
		{"call", `{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}`, `call id=1 method=eth_blockNumber params=`, 0},
		{"params array", `{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x10",false]}`, `call id=1 method=eth_getBlockByNumber params=["0x10",false]`, 0},
		{"params object", `{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":1}}`, `call id=1 method=m params={"a":1}`, 0},
		{"member order", `{"params":[],"method":"m","id":"x","jsonrpc":"2.0"}`, `call id="x" method=m params=[]`, 0},
		{"extra member ignored", `{"jsonrpc":"2.0","id":1,"method":"m","foo":{"id":2}}`, `call id=1 method=m params=`, 0},
		// ids are kept verbatim
		{"id decimal", `{"jsonrpc":"2.0","id":1.50,"method":"m"}`, `call id=1.50 method=m params=`, 0},
		{"id escaped string", `{"jsonrpc":"2.0","id":"\u0041","method":"m"}`, `call id="\u0041" method=m params=`, 0},
		{"id big number", `{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"m"}`, `call id=123456789012345678901234567890 method=m params=`, 0},
		{"id exponent", `{"jsonrpc":"2.0","id":-1e400,"method":"m"}`, `call id=-1e400 method=m params=`, 0},
		{"id null", `{"jsonrpc":"2.0","id":null,"method":"m"}`, `call id=null method=m params=`, 0},
		{"id empty string", `{"jsonrpc":"2.0","id":"","method":"m"}`, `call id="" method=m params=`, 0},
		{"notification", `{"jsonrpc":"2.0","method":"m","params":[1]}`, `notification method=m params=[1]`, 0},
		{"id object", `{"jsonrpc":"2.0","id":{"a":1},"method":"m"}`, `invalid id=- err=-32600 invalid request: "id" must be a number, a string or null`, 0},
		{"id array", `{"jsonrpc":"2.0","id":[1],"method":"m"}`, `invalid id=- err=-32600 invalid request: "id" must be a number, a string or null`, 0},
		{"id bool", `{"jsonrpc":"2.0","id":true,"method":"m"}`, `invalid id=- err=-32600 invalid request: "id" must be a number, a string or null`, 0},
		// jsonrpc member
		{"version missing", `{"id":7,"method":"m"}`, `invalid id=7 err=-32600 invalid request: "jsonrpc" must be "2.0"`, 0},
		{"version 1.0", `{"jsonrpc":"1.0","id":7,"method":"m"}`, `invalid id=7 err=-32600 invalid request: "jsonrpc" must be "2.0"`, 0},
		{"version number", `{"jsonrpc":2.0,"id":7,"method":"m"}`, `invalid id=7 err=-32600 invalid request: "jsonrpc" must be "2.0"`, 0},
		{"version escaped", `{"jsonrpc":"\u0032.0","id":7,"method":"m"}`, `call id=7 method=m params=`, 0},
		{"version padded", `{"jsonrpc":"2.0 ","id":7,"method":"m"}`, `invalid id=7 err=-32600 invalid request: "jsonrpc" must be "2.0"`, 0},
		// method member
		{"method missing", `{"jsonrpc":"2.0","id":7}`, `invalid id=7 err=-32600 invalid request: "method" must be a non-empty string`, 0},
		{"method empty", `{"jsonrpc":"2.0","id":7,"method":""}`, `invalid id=7 err=-32600 invalid request: "method" must be a non-empty string`, 0},
		{"method number", `{"jsonrpc":"2.0","id":7,"method":1}`, `invalid id=7 err=-32600 invalid request: "method" must be a non-empty string`, 0},
		{"method null", `{"jsonrpc":"2.0","id":7,"method":null}`, `invalid id=7 err=-32600 invalid request: "method" must be a non-empty string`, 0},
		{"method escaped", `{"jsonrpc":"2.0","id":7,"method":"eth_\u0063all"}`, `call id=7 method=eth_call params=`, 0},
		// Member names spelled other than exactly (issue 8, defect 3): a node
		// decoding with case folding or unescaping would run another call.
		{"member name escaped", `{"jsonrpc":"2.0","id":7,"\u006dethod":"eth_call"}`, `invalid id=7 err=-32600 invalid request: a member name differs from "jsonrpc", "method", "params" or "id" only in case or escapes; spell it exactly`, 0},
		{"member name case", `{"jsonrpc":"2.0","id":7,"Method":"eth_call"}`, `invalid id=7 err=-32600 invalid request: a member name differs from "jsonrpc", "method", "params" or "id" only in case or escapes; spell it exactly`, 0},
		{"case variant beside method", `{"jsonrpc":"2.0","id":7,"method":"eth_chainId","Method":"admin_nodeInfo"}`, `invalid id=7 err=-32600 invalid request: a member name differs from "jsonrpc", "method", "params" or "id" only in case or escapes; spell it exactly`, 0},
		{"escaped case variant", `{"jsonrpc":"2.0","id":7,"method":"eth_chainId","\u004dethod":"admin_nodeInfo"}`, `invalid id=7 err=-32600 invalid request: a member name differs from "jsonrpc", "method", "params" or "id" only in case or escapes; spell it exactly`, 0},
		{"escaped exact name", `{"jsonrpc":"2.0","id":7,"m\u0065thod":"eth_call"}`, `invalid id=7 err=-32600 invalid request: a member name differs from "jsonrpc", "method", "params" or "id" only in case or escapes; spell it exactly`, 0},
		{"upper id", `{"jsonrpc":"2.0","id":7,"ID":8,"method":"m"}`, `invalid id=7 err=-32600 invalid request: a member name differs from "jsonrpc", "method", "params" or "id" only in case or escapes; spell it exactly`, 0},
		{"upper params", `{"jsonrpc":"2.0","id":7,"method":"m","PARAMS":[1]}`, `invalid id=7 err=-32600 invalid request: a member name differs from "jsonrpc", "method", "params" or "id" only in case or escapes; spell it exactly`, 0},
		{"upper jsonrpc", `{"JsonRpc":"2.0","jsonrpc":"2.0","id":7,"method":"m"}`, `invalid id=7 err=-32600 invalid request: a member name differs from "jsonrpc", "method", "params" or "id" only in case or escapes; spell it exactly`, 0},
		{"long s folds to s", `{"jsonrpc":"2.0","id":7,"method":"m","paramſ":[1]}`, `invalid id=7 err=-32600 invalid request: a member name differs from "jsonrpc", "method", "params" or "id" only in case or escapes; spell it exactly`, 0},
		{"escaped long s", `{"jsonrpc":"2.0","id":7,"method":"m","param\u017f":[1]}`, `invalid id=7 err=-32600 invalid request: a member name differs from "jsonrpc", "method", "params" or "id" only in case or escapes; spell it exactly`, 0},
		{"kelvin is not a member", `{"jsonrpc":"2.0","id":7,"method":"m","Key":1}`, `call id=7 method=m params=`, 0},
		{"similar name allowed", `{"jsonrpc":"2.0","id":7,"method":"m","methods":1,"i":2,"_id":3}`, `call id=7 method=m params=`, 0},
		// params member
		{"params string", `{"jsonrpc":"2.0","id":7,"method":"m","params":"x"}`, `invalid id=7 err=-32600 invalid request: "params" must be an array or an object`, 0},
		{"params null is no params", `{"jsonrpc":"2.0","id":7,"method":"m","params":null}`, `call id=7 method=m params=`, 0},
		{"params number", `{"jsonrpc":"2.0","id":7,"method":"m","params":1}`, `invalid id=7 err=-32600 invalid request: "params" must be an array or an object`, 0},
		{"params number", `{"jsonrpc":"2.0","id":7,"method":"m","params":1}`, `invalid id=7 err=-32600 invalid request: "params" must be an array or an object`, 0},
		// duplicates: rejected, whichever copy a node would keep
		{"duplicate method", `{"jsonrpc":"2.0","id":7,"method":"eth_call","method":"debug_traceCall"}`, `invalid id=7 err=-32600 invalid request: duplicate member`, 0},
		{"duplicate id", `{"jsonrpc":"2.0","id":7,"method":"m","id":8}`, `invalid id=7 err=-32600 invalid request: duplicate member`, 0},
		{"duplicate escaped", `{"jsonrpc":"2.0","id":7,"method":"a","\u006dethod":"b"}`, `invalid id=7 err=-32600 invalid request: a member name differs from "jsonrpc", "method", "params" or "id" only in case or escapes; spell it exactly`, 0},
		{"duplicate unknown member", `{"jsonrpc":"2.0","id":7,"method":"m","x":1,"x":2}`, `call id=7 method=m params=`, 0},
		{"empty object", `{}`, `invalid id=- err=-32600 invalid request: "jsonrpc" must be "2.0"`, 0},
		// whole body
		{"whitespace", " \t\r\n{\"jsonrpc\":\"2.0\" , \"id\" : 1 ,\"method\":\"m\"} \n", `call id=1 method=m params=`, 0},
		{"bom", "\xef\xbb\xbf{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}", `error -32700 parse error: invalid character at offset 0 ('ï')`, 0},
		{"empty body", ``, `error -32700 parse error: empty body`, 0},
		{"spaces only", "  \n", `error -32700 parse error: empty body`, 0},
		{"trailing data", `{"jsonrpc":"2.0","id":1,"method":"m"} x`, `error -32700 parse error: data after the JSON value at offset 38 ('x')`, 0},
		{"two objects", `{"jsonrpc":"2.0","id":1,"method":"m"}{}`, `error -32700 parse error: data after the JSON value at offset 37 ('{')`, 0},
		{"unterminated", `{"jsonrpc":"2.0","id":1`, `error -32700 parse error: unterminated object at offset 23`, 0},
		{"trailing comma", `{"jsonrpc":"2.0","id":1,}`, `error -32700 parse error: expected a member name at offset 24 ('}')`, 0},
		{"bad number", `{"jsonrpc":"2.0","id":01,"method":"m"}`, `error -32700 parse error: expected ',' or '}' in object at offset 23 ('1')`, 0},
		{"bad escape", `{"jsonrpc":"2.0","id":"\x","method":"m"}`, `error -32700 parse error: invalid escape at offset 23 ('\\')`, 0},
		{"control char", "{\"jsonrpc\":\"2.0\",\"id\":\"a\tb\",\"method\":\"m\"}", `error -32700 parse error: control character in string at offset 24 ('\t')`, 0},
		{"bad literal", `{"jsonrpc":"2.0","id":nul,"method":"m"}`, `error -32700 parse error: invalid literal at offset 22 ('n')`, 0},
		{"single quotes", `{'jsonrpc':'2.0'}`, `error -32700 parse error: expected a member name at offset 1 ('\'')`, 0},
		{"number body", `42`, `error -32600 invalid request: body is neither an object nor an array`, 0},
		{"string body", ` "x" `, `error -32600 invalid request: body is neither an object nor an array`, 0},
		{"null body", `null`, `error -32600 invalid request: body is neither an object nor an array`, 0},
		{"invalid scalar body", `4x`, `error -32700 parse error: data after the JSON value at offset 1 ('x')`, 0},
		// batches
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b"}]`, "batch\ncall id=1 method=a params=\nnotification method=b params=", 0},
		{"batch case variant element", `[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":2,"method":"eth_chainId","Method":"admin_peers"}]`,
			"batch\ncall id=1 method=a params=\ninvalid id=2 err=-32600 " + errSpelling.Message, 0},
		{"batch invalid elements", `[1,"x",null,[],{"jsonrpc":"2.0","id":"k","method":5},{"jsonrpc":"2.0","id":2,"method":"ok"}]`,
			"batch\n" +
				"invalid id=- err=-32600 invalid request: not an object\n" +
				"invalid id=- err=-32600 invalid request: not an object\n" +
				"invalid id=- err=-32600 invalid request: not an object\n" +
				"invalid id=- err=-32600 invalid request: not an object\n" +
				`invalid id="k" err=-32600 invalid request: "method" must be a non-empty string` + "\n" +
				"call id=2 method=ok params=", 0},
		{"batch invalid json element", `[{"jsonrpc":"2.0","id":1,"method":"a"},{"id":]`, `error -32700 parse error: invalid character at offset 45 (']')`, 0},
		{"empty batch", `[]`, `error -32600 empty batch (batch)`, 0},
		{"empty batch spaces", " [ \n ] ", `error -32600 empty batch (batch)`, 0},
		{"batch at limit", `[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":2,"method":"b"}]`, "batch\ncall id=1 method=a params=\ncall id=2 method=b params=", 2},
		{"batch over limit", `[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":2,"method":"b"},3]`, `error -32600 batch of 3 exceeds the limit of 2 (batch)`, 2},
		{"batch over limit invalid json", `[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":2,"method":"b"},3,]`, `error -32700 parse error: invalid character at offset 79 (']')`, 2},
		{"batch trailing comma", `[{"jsonrpc":"2.0","id":1,"method":"a"},]`, `error -32700 parse error: invalid character at offset 39 (']')`, 0},
		{"nested batch", `[[{"jsonrpc":"2.0","id":1,"method":"a"}]]`, "batch\ninvalid id=- err=-32600 invalid request: not an object", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reqs, batch, err := Decode([]byte(tt.body), tt.maxBatch)
			if got := summary(reqs, batch, err); got != tt.want {
				t.Errorf("Decode(%s)\n got: %s\nwant: %s", tt.body, got, tt.want)
			}
		})
	}
}

func TestDecodeRawAndIDRange(t *testing.T) {
	t.Parallel()
	body := []byte(" [ {\"jsonrpc\":\"2.0\", \"id\" : \"\\u0041\" ,\"method\":\"eth_chainId\"} , {\"id\":1.50}\n]")
	reqs, batch, err := Decode(body, 0)
	if err != nil || !batch || len(reqs) != 2 {
		t.Fatalf("Decode = %d reqs, %v, %v", len(reqs), batch, err)
	}
	for i, want := range []struct{ raw, id string }{
		{`{"jsonrpc":"2.0", "id" : "\u0041" ,"method":"eth_chainId"}`, `"\u0041"`},
		{`{"id":1.50}`, `1.50`},
	} {
		r := reqs[i]
		if string(r.Raw) != want.raw || string(r.ID) != want.id || string(r.Raw[r.IDStart:r.IDEnd]) != want.id {
			t.Errorf("reqs[%d]: Raw=%s ID=%s range=%s", i, r.Raw, r.ID, r.Raw[r.IDStart:r.IDEnd])
		}
		if &r.Raw[0] != &body[bytes.Index(body, []byte(want.raw))] {
			t.Errorf("reqs[%d].Raw is a copy, want an alias of the body", i)
		}
	}
	got := SpliceID(reqs[0].Raw, reqs[0].IDStart, reqs[0].IDEnd, []byte("42"), []byte("x:"))
	if want := `x:{"jsonrpc":"2.0", "id" : 42 ,"method":"eth_chainId"}`; string(got) != want {
		t.Errorf("SpliceID = %s, want %s", got, want)
	}
}

func TestDecodeMethodInterned(t *testing.T) {
	t.Parallel()
	reqs, _, _ := Decode([]byte(`{"jsonrpc":"2.0","id":1,"method":"eth_call"}`), 0)
	name, _ := LookupMethod([]byte("eth_call"))
	if reqs[0].Method != name || unsafeData(reqs[0].Method) != unsafeData(name) {
		t.Errorf("method %q is not the interned string", reqs[0].Method)
	}
}

func TestDecodeDepth(t *testing.T) {
	t.Parallel()
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	// The request object is level 1, so params may hold MaxDepth-1 levels.
	ok := `{"jsonrpc":"2.0","id":1,"method":"m","params":` + nest(MaxDepth-1) + `}`
	if reqs, _, err := Decode([]byte(ok), 0); err != nil || reqs[0].Err != nil {
		t.Errorf("depth %d: err %v", MaxDepth, err)
	}
	deep := `{"jsonrpc":"2.0","id":1,"method":"m","params":` + nest(MaxDepth) + `}`
	if _, _, err := Decode([]byte(deep), 0); err == nil || err.Code != CodeInvalidRequest {
		t.Errorf("depth %d: err %v, want -32600", MaxDepth+1, err)
	}
	// Far deeper than any stack would take if the scanner did not stop.
	huge := strings.Repeat(`{"a":[`, 1_000_000)
	if _, _, err := Decode([]byte(huge), 0); err == nil || err.Code != CodeInvalidRequest {
		t.Errorf("huge nesting: err %v, want -32600", err)
	}
}

func TestDecodeIntoReusesAndDoesNotAllocate(t *testing.T) {
	single := []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x10",false]}`)
	batch := []byte(`[{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"to":"0x00"},"latest"]},{"jsonrpc":"2.0","id":"a","method":"eth_blockNumber"},7]`)
	dst := make([]Request, 0, 8)
	for _, body := range [][]byte{single, batch} {
		allocs := testing.AllocsPerRun(100, func() {
			reqs, _, err := DecodeInto(dst, body, 100)
			if err != nil || &reqs[0] != &dst[:1][0] {
				t.Fatal("DecodeInto did not reuse dst")
			}
		})
		if allocs != 0 {
			t.Errorf("DecodeInto(%.20s...) allocates %v times, want 0", body, allocs)
		}
	}
}

func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	// What encoding/json reads from a valid single request must match.
	body := []byte(`{"jsonrpc":"2.0","id":"\ud83d\ude00 \u00e9","method":"eth_\u0067etBalance","params":["0x00",{"blockHash":"0x01"}]}`)
	var std struct {
		ID     json.RawMessage
		Method string
		Params json.RawMessage
	}
	if err := json.Unmarshal(body, &std); err != nil {
		t.Fatal(err)
	}
	reqs, _, err := Decode(body, 0)
	if err != nil || reqs[0].Err != nil {
		t.Fatal(err, reqs[0].Err)
	}
	if reqs[0].Method != std.Method || !bytes.Equal(reqs[0].ID, std.ID) || !bytes.Equal(reqs[0].Params, std.Params) {
		t.Errorf("got %s %s %s, encoding/json %s %s %s", reqs[0].Method, reqs[0].ID, reqs[0].Params, std.Method, std.ID, std.Params)
	}
}
