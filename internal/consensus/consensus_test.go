package consensus

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

func canonString(t *testing.T, s string, ignore ...string) string {
	t.Helper()
	out, err := Canonical(nil, []byte(s), ParsePaths(ignore))
	if err != nil {
		t.Fatalf("Canonical(%s): %v", s, err)
	}
	return string(out)
}

func TestCanonicalKeyOrderAndWhitespace(t *testing.T) {
	t.Parallel()
	a := canonString(t, `{"b":1,"a":{"y":[1, 2],"x":"0x1"}}`)
	b := canonString(t, " {\n \"a\" : { \"x\":\"0x1\" ,\"y\":[ 1,2 ] } ,\t\"b\" : 1 } ")
	if a != b || a != `{"a":{"x":"0x1","y":[1,2]},"b":1}` {
		t.Fatalf("canonical forms differ: %s vs %s", a, b)
	}
}

func TestCanonicalNumbersAndStringsAsWritten(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{{`1.0`, `1`}, {`"0x01"`, `"0x1"`}, {`1e2`, `100`}, {`"\u0041"`, `"A"`}}
	for _, p := range pairs {
		if canonString(t, p[0]) == canonString(t, p[1]) {
			t.Errorf("%s and %s compare equal; they are written differently", p[0], p[1])
		}
	}
}

func TestCanonicalRejectsMalformed(t *testing.T) {
	t.Parallel()
	for _, s := range []string{``, `{`, `{"a"}`, `[1,]`, `{"a":1,}`, `tru`, `"abc`, `{"a":1} x`, strings.Repeat("[", 200) + strings.Repeat("]", 200)} {
		if _, err := Canonical(nil, []byte(s), nil); err == nil {
			t.Errorf("Canonical(%q) accepted malformed JSON", s)
		}
	}
}

func TestIgnoreFields(t *testing.T) {
	t.Parallel()
	a := `{"number":"0x5","size":"0x100","transactions":[{"hash":"0x1","v":"0x0"},{"hash":"0x2","v":"0x1"}]}`
	b := `{"number":"0x5","size":"0x200","transactions":[{"hash":"0x1","v":"0x1b"},{"hash":"0x2","v":"0x1c"}]}`
	if canonString(t, a) == canonString(t, b) {
		t.Fatal("different answers compare equal without ignore_fields")
	}
	if x, y := canonString(t, a, "size", "transactions.*.v"), canonString(t, b, "size", "transactions.*.v"); x != y {
		t.Fatalf("ignored fields still count: %s vs %s", x, y)
	}
	// Only the named path is ignored: a different hash still counts.
	c := strings.Replace(b, `"hash":"0x2"`, `"hash":"0x3"`, 1)
	if canonString(t, a, "size", "transactions.*.v") == canonString(t, c, "size", "transactions.*.v") {
		t.Fatal("a field outside ignore_fields was ignored")
	}
}

func TestIgnoreFieldsMergeWithDefaults(t *testing.T) {
	t.Parallel()
	c := &config.Consensus{Mode: "quorum", Participants: 3, Agree: 2, OnDispute: "error", LowParticipants: "accept_most_common",
		IgnoreFields: map[string][]string{"eth_getBlockByNumber": {"size"}}}
	p, ok := Compile(c).For("eth_getBlockByNumber")
	if !ok {
		t.Fatal("eth_getBlockByNumber is not compared")
	}
	a := canonString(t, `{"size":"0x1","totalDifficulty":"0x1","number":"0x5"}`)
	_ = a
	x, _ := Canonical(nil, []byte(`{"size":"0x1","totalDifficulty":"0x1","number":"0x5"}`), p.Ignore)
	y, _ := Canonical(nil, []byte(`{"size":"0x2","totalDifficulty":"0x2","number":"0x5"}`), p.Ignore)
	if string(x) != string(y) || string(x) != `{"number":"0x5"}` {
		t.Fatalf("configured and default ignore_fields not both applied: %s vs %s", x, y)
	}
}

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	vote := func(body string) Vote { return Judge([]byte(body), nil) }
	r1 := vote(`{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted: no","data":"0x08c379a0"}}`)
	r2 := vote(`{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"execution reverted"}}`)
	if r1.Kind != RPCError || r1.Hash != r2.Hash {
		t.Fatalf("two reverts do not agree: %+v %+v", r1, r2)
	}
	bad := vote(`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"invalid argument"}}`)
	if bad.Kind != RPCError || bad.Hash == r1.Hash {
		t.Fatalf("invalid params counted as a revert: %+v", bad)
	}
	for _, infra := range []string{
		`{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"header not found"}}`,
		`{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"rate limit exceeded"}}`,
		`not json`,
	} {
		if v := vote(infra); v.Kind != NoVote {
			t.Errorf("%s is a vote (%+v); infrastructure failures are not", infra, v)
		}
	}
	ok1 := vote(`{"jsonrpc":"2.0","id":1,"result":{"a":1,"b":2}}`)
	ok2 := vote(`{"id":7, "result": {"b":2, "a":1}, "jsonrpc":"2.0"}`)
	if ok1.Kind != Result || ok1.Hash != ok2.Hash {
		t.Fatal("equal results in different order do not agree")
	}
}

// Every method of the default list: latest (or a missing parameter) is
// rewritten to the pinned block at the method's position, and everything
// else in the call stays as it was.
func TestPinEveryDefaultMethod(t *testing.T) {
	t.Parallel()
	args := map[string][]any{
		"eth_getBalance":                          {"0xabc"},
		"eth_getCode":                             {"0xabc"},
		"eth_getTransactionCount":                 {"0xabc"},
		"eth_getStorageAt":                        {"0xabc", "0x0"},
		"eth_getProof":                            {"0xabc", []string{"0x0"}},
		"eth_getAccount":                          {"0xabc"},
		"eth_call":                                {map[string]any{"to": "0xabc", "data": "0x"}},
		"eth_getBlockByNumber":                    {},
		"eth_getHeaderByNumber":                   {},
		"eth_getBlockReceipts":                    {},
		"eth_getBlockTransactionCountByNumber":    {},
		"eth_getTransactionByBlockNumberAndIndex": {},
		"eth_getUncleCountByBlockNumber":          {},
	}
	suffix := map[string][]any{"eth_getBlockByNumber": {false}, "eth_getTransactionByBlockNumberAndIndex": {"0x0"}}
	for _, m := range DefaultMethods() {
		if hashKeyed[m] {
			if tag, _ := TagOf(m, []byte(`["0x1"]`)); tag != TagNone {
				t.Errorf("%s: hash-keyed method has a block tag", m)
			}
			continue
		}
		pre, ok := args[m]
		if !ok {
			t.Errorf("%s: no test arguments", m)
			continue
		}
		for _, tag := range []string{"latest", "safe", "finalized"} {
			in := append(append(append([]any{}, pre...), tag), suffix[m]...)
			want := append(append(append([]any{}, pre...), "0x2a"), suffix[m]...)
			got, ok := Pin(m, mustJSON(t, in), 42)
			if !ok || string(got) != string(mustJSON(t, want)) {
				t.Errorf("%s %s: pinned to %s (ok %v), want %s", m, tag, got, ok, mustJSON(t, want))
			}
		}
		if len(suffix[m]) == 0 && len(pre) > 0 { // the block parameter may be left out
			got, ok := Pin(m, mustJSON(t, pre), 42)
			want := append(append([]any{}, pre...), "0x2a")
			if !ok || string(got) != string(mustJSON(t, want)) {
				t.Errorf("%s missing block: pinned to %s (ok %v), want %s", m, got, ok, mustJSON(t, want))
			}
		}
		pending := append(append(append([]any{}, pre...), "pending"), suffix[m]...)
		if _, ok := Pin(m, mustJSON(t, pending), 42); ok {
			t.Errorf("%s: pending was pinned; it is never compared", m)
		}
		num := append(append(append([]any{}, pre...), "0x7"), suffix[m]...)
		if tag, _ := TagOf(m, mustJSON(t, num)); tag != TagNumber {
			t.Errorf("%s: a concrete block is tag %d", m, tag)
		}
	}
}

func TestNeverCompared(t *testing.T) {
	t.Parallel()
	c := &config.Consensus{Mode: "quorum", Participants: 3, Agree: 2, OnDispute: "error", LowParticipants: "error",
		Methods: []string{"eth_*", "txpool_content"}}
	s := Compile(c)
	for _, m := range []string{"eth_sendRawTransaction", "eth_blockNumber", "eth_newFilter", "eth_getFilterChanges",
		"eth_subscribe", "txpool_content", "eth_gasPrice", "eth_maxPriorityFeePerGas", "eth_feeHistory"} {
		if _, ok := s.For(m); ok {
			t.Errorf("%s is compared; it must never be", m)
		}
	}
	if _, ok := s.For("eth_getBalance"); !ok {
		t.Error("eth_getBalance is not compared under eth_*")
	}
}

func TestRequestKeepsClientID(t *testing.T) {
	t.Parallel()
	b := Request(nil, []byte(`"x-1"`), "eth_getBalance", []byte(`["0xabc","0x2a"]`))
	var r struct {
		ID     string          `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.ID != "x-1" || r.Method != "eth_getBalance" {
		t.Fatalf("request %s: %v %+v", b, err, r)
	}
	if _, err := jsonrpc.ScanResponse([]byte(`{"jsonrpc":"2.0","id":1,"result":"0x0"}`)); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzCanonical: no input panics; a canonical form is valid JSON, is its
// own canonical form, and equals the canonical form of the input
// re-encoded by encoding/json's compact (whitespace does not count).
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1,{"y":2,"x":3}]}`, `[]`, `{}`, `"a\"b"`, `-1.5e3`, `null`, `{"a":{"a":{"a":1}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := Canonical(nil, b, ParsePaths([]string{"a.*", "x"}))
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("canonical form of %q is not JSON: %q", b, out)
		}
		again, err := Canonical(nil, out, ParsePaths([]string{"a.*", "x"}))
		if err != nil || string(again) != string(out) {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", b, out, again, err)
		}
	})
}
