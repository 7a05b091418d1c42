package wsgate

import (
	"encoding/json"
	"testing"

	"github.com/rpcgate/rpcgate/internal/chainfeed"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		msg  string
		want msgKind
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}`, kindSub},
		{`{"jsonrpc":"2.0","id":1,"method":"eth_unsubscribe","params":["0x1"]}`, kindSub},
		{`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`, kindCall},
		{`[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"eth_subscribe","params":["newHeads"]}]`, kindBatchedSub},
		{`[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}]`, kindCall},
		{`{"jsonrpc":"1.0","id":1,"method":"eth_subscribe"}`, kindCall}, // invalid: the pipeline answers -32600
	}
	for _, c := range cases {
		reqs, batch, err := jsonrpc.Decode([]byte(c.msg), 100)
		if err != nil {
			t.Fatalf("%s: %v", c.msg, err)
		}
		if got := classify(reqs, batch); got != c.want {
			t.Errorf("%s: kind %d, want %d", c.msg, got, c.want)
		}
	}
}

func TestParseSubscribe(t *testing.T) {
	cases := []struct {
		params string
		kind   string
		code   int
	}{
		{`["newHeads"]`, "newHeads", 0},
		{`["newPendingTransactions"]`, "newPendingTransactions", 0},
		{`["logs",{"address":"0x00000000000000000000000000000000c0ffee02","topics":[null,["0x2222222222222222222222222222222222222222222222222222222222222222"]]}]`, "logs", 0},
		{`["logs",{"topics":[null,null,null,null,null]}]`, "", jsonrpc.CodeInvalidParams}, // geth: at most 4 positions
		{`["logs",{"address":"0x12"}]`, "", jsonrpc.CodeInvalidParams},
		{`["syncing"]`, "", jsonrpc.CodeMethodNotFound},
		{`[]`, "", jsonrpc.CodeInvalidParams},
		{`[1]`, "", jsonrpc.CodeInvalidParams},
	}
	for _, c := range cases {
		var params []json.RawMessage
		_ = json.Unmarshal([]byte(c.params), &params)
		kind, _, err := parseSubscribe(params)
		code := 0
		if err != nil {
			code = err.Code
		}
		if kind != c.kind || code != c.code {
			t.Errorf("%s: kind %q code %d, want %q %d", c.params, kind, code, c.kind, c.code)
		}
	}
}

// FuzzMessage drives the decoding path of a client message: JSON-RPC
// decoding, the subscription/call split and eth_subscribe's params. It
// must never panic, and a logs filter it accepts never has more than four
// topic positions.
func FuzzMessage(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}`,
		`{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["logs",{"address":["0x00000000000000000000000000000000c0ffee02"],"topics":[["0x2222222222222222222222222222222222222222222222222222222222222222",null]]}]}`,
		`{"jsonrpc":"2.0","id":"x","method":"eth_unsubscribe","params":["0xabc"]}`,
		`[{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}]`,
		`{"jsonrpc":"2.0","method":"eth_subscribe","params":{"a":1}}`,
		`not json`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		reqs, batch, derr := jsonrpc.Decode(msg, 100)
		if derr != nil {
			return
		}
		if classify(reqs, batch) != kindSub {
			return
		}
		var params []json.RawMessage
		if json.Unmarshal(reqs[0].Params, &params) != nil {
			return
		}
		kind, crit, err := parseSubscribe(params)
		if err == nil && kind == subLogs && len(crit.Topics) > chainfeed.MaxTopics {
			t.Fatalf("accepted %d topic positions", len(crit.Topics))
		}
	})
}
