package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// When one node cannot answer, the call is answered by another: a node that
// says "not yet", and a group whose only node is dead.

func TestNotYetErrorRetriedElsewhere(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	f.Mine(3)
	ps := StartProxies(t, f)
	// geth answers "header not found" (-32000) for a block above its head,
	// e.g. while it is a block behind the others. Anvil answers null for a
	// block it lacks and cannot be made to lack a block it has, so a's proxy
	// answers in geth's words instead of a.
	ps["a"].SetFault(onMethod("eth_getBlockByNumber", answerRPCError(-32000, "header not found")))
	g := StartGateway(t, ps, GatewayOpts{})
	eventually(t, 30*time.Second, "a, b and c up", allUp(t, g, "a", "b", "c"))

	head, err := f.Node("b").Head()
	if err != nil {
		t.Fatal(err)
	}
	want, err := f.Node("b").BlockHash(head)
	if err != nil || want == "" {
		t.Fatalf("direct block %d on b: %q, %v", head, want, err)
	}
	ResetAll(ps)
	retriesBefore, _ := g.Metric(t, "rpcgate_retries_total", map[string]string{"chain": "eth", "group": "default"})
	call := func(i int) {
		t.Helper()
		status, _, body := g.post(context.Background(), "/eth", rpcBody("eth_getBlockByNumber", hexUint(head), false))
		r := parseResponse(t, body)
		if status != http.StatusOK || r.Error != nil {
			t.Fatalf("call %d: HTTP %d %s; want block %d from b or c", i, status, body, head)
		}
		var blk struct {
			Hash string `json:"hash"`
		}
		if err := json.Unmarshal(r.Result, &blk); err != nil || blk.Hash != want {
			t.Fatalf("call %d: result %s, want block hash %s", i, clip(r.Result), want)
		}
	}
	// 50 calls, and more until a got one: P2C steers away from a node that
	// has lately been more than 1ms slower, which under the race detector a
	// may be for a while.
	calls := 0
	for ; calls < 50; calls++ {
		call(calls)
	}
	eventually(t, 60*time.Second, "a call sent to a", func() (bool, string) {
		if ps["a"].Count("eth_getBlockByNumber") > 0 {
			return true, ""
		}
		call(calls)
		calls++
		return false, fmt.Sprintf("%d calls; a=%v b=%v c=%v", calls, ps["a"].Counts(), ps["b"].Counts(), ps["c"].Counts())
	})
	atA := ps["a"].Count("eth_getBlockByNumber")
	if atA == 0 {
		t.Fatalf("a never got eth_getBlockByNumber, so no \"not yet\" answer was retried; counts a=%v b=%v c=%v",
			ps["a"].Counts(), ps["b"].Counts(), ps["c"].Counts())
	}
	if served := ps["b"].Count("eth_getBlockByNumber") + ps["c"].Count("eth_getBlockByNumber"); served != calls {
		t.Errorf("b and c answered %d calls, want all %d (a's %d answers were \"not yet\")", served, calls, atA)
	}
	retries, _ := g.Metric(t, "rpcgate_retries_total", map[string]string{"chain": "eth", "group": "default"})
	if retries-retriesBefore < float64(atA) {
		t.Errorf("rpcgate_retries_total{group=default} grew by %v, want at least %d (one per answer from a)", retries-retriesBefore, atA)
	}
}

func TestGroupFallback(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	f.Mine(2)
	installContracts(f)
	direct := dial(t, f.Node("a").URL)
	emitLogs(t, f, direct, []byte("one"), []byte("two"))
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{Groups: map[string]GroupSpec{
		"default": {Nodes: []string{"a", "b"}},
		"logs":    {Methods: []string{"eth_getLogs"}, Nodes: []string{"c"}, Fallback: "default"},
	}})
	eventually(t, 30*time.Second, "a, b and c up", allUp(t, g, "a", "b", "c"))

	filter := map[string]any{"fromBlock": "0x0", "toBlock": "latest", "address": emitterAddress.Hex()}
	want, err := f.Node("a").Call(context.Background(), "eth_getLogs", filter)
	if err != nil {
		t.Fatal(err)
	}
	if compact(t, want) == "[]" {
		t.Fatal("fixture broken: no logs")
	}

	f.Kill("c")
	eventually(t, 30*time.Second, `rpcgate_node_up{node="c"} == 0`, func() (bool, string) {
		up, ok := g.nodeMetric(t, "rpcgate_node_up", "c")
		return ok && up == 0, fmt.Sprintf("up=%v (present %v)", up, ok)
	})
	ResetAll(ps)
	labels := map[string]string{"chain": "eth", "from": "logs", "to": "default"}
	before, _ := g.Metric(t, "rpcgate_group_fallbacks_total", labels)
	for i := 0; i < 20; i++ {
		status, _, body := g.post(context.Background(), "/eth", rpcBody("eth_getLogs", filter))
		r := parseResponse(t, body)
		if status != http.StatusOK || r.Error != nil {
			t.Fatalf("eth_getLogs %d with group logs dead: HTTP %d %s", i, status, body)
		}
		if compact(t, r.Result) != compact(t, want) {
			t.Fatalf("eth_getLogs %d: %s, direct %s", i, r.Result, want)
		}
	}
	after, ok := g.Metric(t, "rpcgate_group_fallbacks_total", labels)
	if !ok || after-before < 20 {
		t.Errorf("rpcgate_group_fallbacks_total%v = %v (present %v), was %v; want it to grow by at least 20", labels, after, ok, before)
	}
	if n := ps["c"].Count("eth_getLogs"); n != 0 {
		t.Errorf("dead node c was still sent %d eth_getLogs", n)
	}
	if n := ps["a"].Count("eth_getLogs") + ps["b"].Count("eth_getLogs"); n != 20 {
		t.Errorf("default group answered %d eth_getLogs, want 20", n)
	}
}

// allUp is a condition for eventually: every named node has
// rpcgate_node_up == 1.
func allUp(t testing.TB, g *Gateway, names ...string) func() (bool, string) {
	return func() (bool, string) {
		desc := ""
		ok := true
		for _, n := range names {
			up, _ := g.nodeMetric(t, "rpcgate_node_up", n)
			desc += fmt.Sprintf("%s=%v ", n, up)
			ok = ok && up == 1
		}
		return ok, "rpcgate_node_up " + desc
	}
}
