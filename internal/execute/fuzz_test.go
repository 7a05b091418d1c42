package execute

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/telemetry"
)

// FuzzPartAnswer feeds arbitrary node answers to a batch part's judgment:
// it must never panic, every call of the client batch must end with
// exactly one valid JSON answer, and notifications with none.
func FuzzPartAnswer(f *testing.F) {
	for _, s := range []string{
		`[{"jsonrpc":"2.0","id":0,"result":"0x1"},{"jsonrpc":"2.0","id":1,"result":"0x2"},{"jsonrpc":"2.0","id":2,"result":"0x3"}]`,
		`{"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"unknown variant"}}`,
		`[{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"header not found"}}]`,
		`[{"jsonrpc":"2.0","id":7,"result":1},{"jsonrpc":"2.0","id":"0","result":1}]`,
		``, `[]`, `null`, `[{"id":0}]`,
	} {
		f.Add([]byte(s), uint16(200))
	}
	f.Add([]byte("request body too large"), uint16(413))
	cfg, err := config.Parse("fuzz.yaml", []byte(`
chains:
  eth:
    chain_id: 1337
    nodes: {a: {url: "http://127.0.0.1:1"}}
    groups: {default: {nodes: [a]}}
`), nil)
	if err != nil {
		f.Fatal(err)
	}
	c, err := fleet.NewChain("eth", fleet.SpecOf(cfg.Chains["eth"], cfg.Limits), slog.New(slog.DiscardHandler), telemetry.NewMetrics("fuzz"))
	if err != nil {
		f.Fatal(err)
	}
	n := c.Node("a")
	client := []byte(`[{"jsonrpc":"2.0","id":"x","method":"eth_blockNumber"},{"jsonrpc":"2.0","id":5,"method":"eth_sendRawTransaction","params":["0x00"]},{"jsonrpc":"2.0","method":"eth_chainId"},{"jsonrpc":"2.0","id":null,"method":"eth_getBalance","params":["0x00","latest"]}]`)
	f.Fuzz(func(t *testing.T, body []byte, status uint16) {
		reqs, _, derr := jsonrpc.Decode(client, 0)
		if derr != nil {
			t.Fatal(derr)
		}
		items := make([]Item, len(reqs))
		pending := make([]int, len(reqs))
		for i := range reqs {
			items[i].Req = &reqs[i]
			items[i].write = c.IsWrite(reqs[i].Method)
			pending[i] = i
		}
		res := &BatchResult{Items: items}
		p := &part{c: c, res: res, pending: pending, held: map[int]jsonrpc.Response{}}
		var a relay.Attempt
		p.answered(n, &node.Response{Status: int(status), Body: body}, &a)
		p.split = false // a split part would go on element by element; here it ends
		p.finish(&run{ctx: context.Background()})
		for i, it := range items {
			if it.Req.IsNotification() {
				if it.answer != nil {
					t.Fatalf("notification %d answered: %s", i, it.answer)
				}
				continue
			}
			if !json.Valid(it.answer) {
				t.Fatalf("call %d: answer %q is not JSON (node said %q)", i, it.answer, body)
			}
		}
	})
}
