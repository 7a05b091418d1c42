package pipeline

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

// filterStage answers eth_getFilterChanges itself.
type filterStage struct{ calls int }

func (f *filterStage) Handles(m string) bool { return m == "eth_getFilterChanges" }
func (f *filterStage) Serve(_ context.Context, _ Caller, req *jsonrpc.Request) ([]byte, *jsonrpc.Error) {
	f.calls++
	return []byte(`["0xfeed"]`), nil
}

// Locally served methods (gateway-held filters) are answered by the Local
// stage and never reach a node; in a batch they are refused per item,
// and the batch's other calls are answered as usual.
func TestLocalMethodsNeverReachANode(t *testing.T) {
	p, caller, _ := fleetOf(t, func(w http.ResponseWriter, call jsonrpc.Request, body []byte, n int64) string {
		if strings.Contains(string(body), "eth_getFilterChanges") {
			t.Errorf("a filter call reached a node: %s", body)
		}
		return `{"jsonrpc":"2.0","id":1,"result":"0x1"}`
	}, "a", "b")
	stage := &filterStage{}
	p.SetLocal(stage)

	out, rec := relayCall(t, p, caller, `{"jsonrpc":"2.0","id":3,"method":"eth_getFilterChanges","params":["0x01"]}`)
	if out.Status != 200 || string(out.Body) != `{"jsonrpc":"2.0","id":3,"result":["0xfeed"]}` || stage.calls != 1 {
		t.Fatalf("local answer: %d %s (stage calls %d)", out.Status, out.Body, stage.calls)
	}
	if len(rec.Attempts()) != 0 {
		t.Fatalf("a local call recorded upstream attempts: %v", rec.Attempts())
	}
	out, _ = relayCall(t, p, caller, `[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"eth_getFilterChanges","params":["0x01"]}]`)
	if !strings.Contains(string(out.Body), `"id":2,"error":{"code":-32600`) {
		t.Fatalf("batch with a filter call: %s", out.Body)
	}
	if stage.calls != 1 {
		t.Fatalf("stage calls %d, want 1 (batched filter calls are refused)", stage.calls)
	}
}
