package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Regression (issue 7): a notification (a call without id) was sent to
// every node, and the node's empty answer was counted as a node fault and
// resent. A notification reaches exactly one node, costs no node an error,
// and the client gets 204.
func TestEngineNotificationsReachOneNode(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b")
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{})
	eventually(t, 30*time.Second, "a and b up", allUp(t, g, "a", "b"))

	errsBefore := nodeErrors(t, g, "a", "b")
	ResetAll(ps)
	const singles, batches, perBatch = 100, 10, 3
	var wg sync.WaitGroup
	statuses := make(chan string, singles+batches)
	post := func(body string) {
		defer wg.Done()
		status, _, data := g.post(context.Background(), "/eth", []byte(body))
		if status != http.StatusNoContent || len(data) != 0 {
			statuses <- fmt.Sprintf("HTTP %d %q", status, clip(data))
		}
	}
	// eth_gasPrice: a method the gateway's own probes never send.
	note := `{"jsonrpc":"2.0","method":"eth_gasPrice","params":[]}`
	for i := 0; i < singles; i++ {
		wg.Add(1)
		go post(note)
	}
	for i := 0; i < batches; i++ {
		wg.Add(1)
		go post("[" + strings.TrimSuffix(strings.Repeat(note+",", perBatch), ",") + "]")
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		t.Errorf("a notification got %s, want 204 with no body", s)
	}
	got := ps["a"].Count("eth_gasPrice") + ps["b"].Count("eth_gasPrice")
	if want := singles + batches*perBatch; got != want {
		t.Errorf("the nodes saw %d eth_gasPrice notifications (a %d, b %d), want exactly %d: each reaches one node once",
			got, ps["a"].Count("eth_gasPrice"), ps["b"].Count("eth_gasPrice"), want)
	}
	if after := nodeErrors(t, g, "a", "b"); after != errsBefore {
		t.Errorf("rpcgate_node_errors_total moved from %v to %v: a notification's empty answer is its success", errsBefore, after)
	}
}

// nodeErrors sums rpcgate_node_errors_total over the named nodes.
func nodeErrors(t testing.TB, g *Gateway, names ...string) float64 {
	t.Helper()
	sum := 0.0
	for _, n := range names {
		v, _ := g.nodeMetric(t, "rpcgate_node_errors_total", n)
		sum += v
	}
	return sum
}
