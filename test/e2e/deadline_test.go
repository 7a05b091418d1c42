package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// A hung node costs a client no more than its method's deadline, answered
// with the timeout error, and does not hold up other calls.

func TestDeadlineAndTimeoutError(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	f.Mine(1)
	installContracts(f)
	ps := StartProxies(t, f)
	// A node that accepts a call and never answers it (stuck in a heavy
	// eth_call, a wedged RPC worker): anvil cannot be made to hang, so every
	// proxy holds eth_call open until the gateway gives up on it. Other
	// methods reach the real nodes.
	stop := make(chan struct{})
	stalled := make(chan struct{}, 8)
	for _, p := range ps {
		p.SetFault(onMethod("eth_call", stall(stop, stalled)))
	}
	t.Cleanup(func() { close(stop) }) // runs before the proxies close
	g := StartGateway(t, ps, GatewayOpts{ChainExtra: "    method_timeouts: {eth_call: 300ms}\n"})
	eventually(t, 30*time.Second, "a, b and c up", allUp(t, g, "a", "b", "c"))
	ResetAll(ps)

	type answer struct {
		status int
		body   []byte
	}
	done := make(chan answer, 1)
	go func() {
		call := map[string]any{"to": constAddress.Hex(), "data": "0x"}
		status, _, body := g.post(context.Background(), "/eth", rpcBody("eth_call", call, "latest"))
		done <- answer{status, body}
	}()

	// While the eth_call hangs on a node, a read still gets its answer.
	select {
	case <-stalled:
	case a := <-done:
		t.Fatalf("eth_call answered before any node stalled it: HTTP %d %s", a.status, a.body)
	case <-time.After(60 * time.Second):
		t.Fatal("no node received the eth_call within 60s")
	}
	status, _, body := g.post(context.Background(), "/eth", rpcBody("eth_getBalance", devAddress.Hex(), "latest"))
	if r := parseResponse(t, body); status != http.StatusOK || r.Error != nil || len(r.Result) == 0 {
		t.Errorf("eth_getBalance while an eth_call hangs: HTTP %d %s", status, body)
	}

	var a answer
	select {
	case a = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("eth_call with a 300ms deadline got no answer within 60s")
	}
	if a.status != http.StatusGatewayTimeout {
		t.Errorf("hung eth_call: HTTP %d, want 504; body %s", a.status, a.body)
	}
	if code := errorCode(t, a.body); code != -32003 {
		t.Errorf("hung eth_call: JSON-RPC code %d, want -32003; body %s", code, a.body)
	}
	attempts := 0
	counts := map[string]int{}
	for name, p := range ps {
		counts[name] = p.Count("eth_call")
		attempts += counts[name]
	}
	if attempts < 1 || attempts > 3 {
		t.Errorf("the gateway sent the eth_call %d times (%v), want 1 to 3 (max_attempts)", attempts, counts)
	}
}
