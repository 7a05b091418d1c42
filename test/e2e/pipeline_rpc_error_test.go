package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

// revertingCall is an eth_call that creates a contract whose constructor
// is PUSH1 0 PUSH1 0 REVERT: every node answers it with a JSON-RPC error
// object (execution reverted), and nothing needs deploying first.
var revertingCall = []any{map[string]any{"data": "0x60006000fd"}, "latest"}

// Regression for "JSON-RPC error answers are counted as ok": a call that a
// node answers with a JSON-RPC error (an eth_call that reverts), alone and
// as a batch element, reaches the client untouched and is counted under
// outcome="rpc_error" in rpcgate_requests_total, with its class in
// rpcgate_rpc_errors_total; not under "ok".
func TestPipelineRPCErrorOutcome(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b")
	g := StartGateway(t, StartProxies(t, f), GatewayOpts{})

	code, _, body := g.post(context.Background(), "/eth", rpcBody("eth_call", revertingCall...))
	var single struct {
		Error *struct{ Code int } `json:"error"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &single) != nil || single.Error == nil {
		t.Fatalf("reverting eth_call: HTTP %d %s, want 200 with the node's error object", code, body)
	}
	chainIDOK := func() float64 {
		v, _ := g.Metric(t, "rpcgate_requests_total", map[string]string{"chain": "eth", "method": "eth_chainId", "outcome": "ok"})
		return v
	}
	before := chainIDOK() // the harness's own readiness calls
	batch := `[` + string(rpcBodyID(1, "eth_call", revertingCall...)) + `,` + string(rpcBodyID(2, "eth_chainId")) + `]`
	code, _, body = g.post(context.Background(), "/eth", []byte(batch))
	var items []struct {
		Error  *struct{ Code int } `json:"error"`
		Result json.RawMessage     `json:"result"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &items) != nil || len(items) != 2 || items[0].Error == nil || items[1].Result == nil {
		t.Fatalf("batch: HTTP %d %s, want the revert and a result", code, body)
	}

	requests := func(outcome string) float64 {
		v, _ := g.Metric(t, "rpcgate_requests_total", map[string]string{"chain": "eth", "method": "eth_call", "outcome": outcome})
		return v
	}
	if v := requests("rpc_error"); v != 2 {
		t.Errorf(`rpcgate_requests_total{method="eth_call",outcome="rpc_error"} = %v, want 2 (one single call, one batch element)`, v)
	}
	if v := requests("ok"); v != 0 {
		t.Errorf(`rpcgate_requests_total{method="eth_call",outcome="ok"} = %v, want 0: a revert is not a success`, v)
	}
	if v, _ := g.Metric(t, "rpcgate_rpc_errors_total", map[string]string{"chain": "eth", "method": "eth_call", "class": "execution"}); v != 2 {
		t.Errorf(`rpcgate_rpc_errors_total{method="eth_call",class="execution"} = %v, want 2 (anvil answered code %d)`, v, single.Error.Code)
	}
	if v := chainIDOK(); v != before+1 {
		t.Errorf(`rpcgate_requests_total{method="eth_chainId",outcome="ok"} went from %v to %v, want +1`, before, v)
	}
}
