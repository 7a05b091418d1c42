package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
)

// Writes are sent to at most one node once they may have reached it, and
// retried on another node only when they provably never left the gateway.

// writeGroups sends eth_sendRawTransaction to a and b through group
// "writes", which falls back to the default group.
func writeGroups() map[string]GroupSpec {
	return map[string]GroupSpec{
		"default": {Nodes: []string{"a", "b"}},
		"writes":  {Methods: []string{"eth_sendRawTransaction"}, Nodes: []string{"a", "b"}, Fallback: "default"},
	}
}

func TestWriteNeverSentTwice(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b")
	f.Mine(1)
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{Groups: writeGroups()})
	direct := dial(t, f.Node("a").URL)

	// Both nodes receive and process the transaction, and the answer is lost
	// on the way back: a node crash or a network cut after receipt. A real
	// node cannot be made to lose its answer on demand, so the proxy plays
	// the cut; the node behind it is real and really gets the tx.
	for _, name := range []string{"a", "b"} {
		ps[name].SetFault(onMethod("eth_sendRawTransaction", forwardThenDrop(f.Node(name).URL)))
	}
	tx := signTx(t, direct, otherAddress, big.NewInt(1), nil)
	ResetAll(ps)
	status, _, body := g.post(context.Background(), "/eth", rpcBody("eth_sendRawTransaction", hexBytes(rawTx(t, tx))))

	if status != http.StatusBadGateway {
		t.Errorf("write whose answer was lost: HTTP %d, want 502; body %s", status, body)
	}
	r := parseResponse(t, body)
	if r.Error == nil || r.Error.Code != -32004 {
		t.Errorf("write whose answer was lost: want JSON-RPC error -32004, got %s", body)
	} else if !strings.Contains(r.Error.Message, "not retried") {
		t.Errorf("error message should say the write was not retried: %q", r.Error.Message)
	}
	sent := map[string]int{}
	total := 0
	for name, p := range ps {
		sent[name] = p.Count("eth_sendRawTransaction")
		total += sent[name]
	}
	if total != 1 {
		t.Errorf("eth_sendRawTransaction reached the nodes %d times (%v), want exactly 1", total, sent)
	}
	// The nodes themselves agree: exactly one holds the tx in its pool.
	holders := 0
	for _, a := range f.Nodes {
		raw, err := a.Call(context.Background(), "eth_getTransactionByHash", tx.Hash().Hex())
		if err != nil {
			t.Fatalf("eth_getTransactionByHash on %s: %v", a.Name, err)
		}
		if string(raw) != "null" {
			holders++
		}
	}
	if holders != 1 {
		t.Errorf("%d nodes hold the transaction, want exactly 1", holders)
	}

	// A read in the same situation is retried: its answer being lost on a
	// costs nothing but a second try on b.
	ps["a"].SetFault(firstOf(
		onMethod("eth_sendRawTransaction", forwardThenDrop(f.Node("a").URL)),
		onMethod("eth_getBalance", dropConnection),
	))
	ResetAll(ps)
	want, err := direct.BalanceAt(context.Background(), devAddress, nil)
	if err != nil {
		t.Fatal(err)
	}
	read := func(i int) {
		t.Helper()
		status, _, body := g.post(context.Background(), "/eth", rpcBody("eth_getBalance", devAddress.Hex(), "latest"))
		r := parseResponse(t, body)
		if status != http.StatusOK || r.Error != nil {
			t.Fatalf("read %d with a's answers lost: HTTP %d %s", i, status, body)
		}
		var got hexutil.Big
		if err := json.Unmarshal(r.Result, &got); err != nil || got.ToInt().Cmp(want) != 0 {
			t.Fatalf("read %d: balance %s, want %v", i, r.Result, want)
		}
	}
	// At least 20 reads, and more until one was first sent to a: P2C
	// prefers whichever node has been faster lately, which for a moment
	// after start may be b every time.
	reads := 0
	for ; reads < 20; reads++ {
		read(reads)
	}
	eventually(t, 60*time.Second, "a read sent to a", func() (bool, string) {
		read(reads)
		reads++
		return ps["a"].Count("eth_getBalance") > 0, fmt.Sprintf("%d reads, a=%v b=%v", reads, ps["a"].Counts(), ps["b"].Counts())
	})
	if n := ps["b"].Count("eth_getBalance"); n != reads {
		t.Errorf("b answered %d reads, want all %d (a answers none)", n, reads)
	}
}

func TestWriteRetriedWhenNeverSent(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b")
	f.Mine(1)
	ps := StartProxies(t, f)
	// Every transaction b receives, by hash, to prove none arrives twice.
	var (
		mu     sync.Mutex
		atB    = map[common.Hash]int{}
		badRaw []string
	)
	ps["b"].SetFault(onMethod("eth_sendRawTransaction", func(_ http.ResponseWriter, _ *http.Request, body []byte) bool {
		c, _ := parseCall(body)
		var raw hexutil.Bytes
		var tx types.Transaction
		mu.Lock()
		defer mu.Unlock()
		if len(c.Params) != 1 || json.Unmarshal(c.Params[0], &raw) != nil || tx.UnmarshalBinary(raw) != nil {
			badRaw = append(badRaw, string(body))
			return false
		}
		atB[tx.Hash()]++
		return false
	}))
	// fail_threshold 1000 keeps a "ok" while it is dead, so the gateway keeps
	// choosing it and must recover from the refused dial on every such try.
	g := StartGateway(t, ps, GatewayOpts{Groups: writeGroups(), ChainExtra: "    health: {fail_threshold: 1000}\n"})
	eventually(t, 30*time.Second, "a and b up", func() (bool, string) {
		ua, _ := g.nodeMetric(t, "rpcgate_node_up", "a")
		ub, _ := g.nodeMetric(t, "rpcgate_node_up", "b")
		return ua == 1 && ub == 1, fmt.Sprintf("up a=%v b=%v", ua, ub)
	})

	// P2C lets b win over a only when b's score is lower by more than 1ms
	// (balance.slack) and 20%. a's latency average stops moving once it is
	// dead (only answers update it), so a is frozen at a moment when it is
	// no slower than b; then it is never beaten outright and gets about half
	// of the first attempts.
	ewma := func(n string) float64 {
		l, _ := g.nodeMetric(t, "rpcgate_node_latency_ewma_seconds", n)
		return l
	}
	eventually(t, 60*time.Second, "a's latency average at most b's", func() (bool, string) {
		la, lb := ewma("a"), ewma("b")
		return la > 0 && la <= lb, fmt.Sprintf("rpcgate_node_latency_ewma_seconds a=%v b=%v", la, lb)
	})

	// The node's host goes away: connection refused, nothing can be sent.
	ps["a"].Close()
	// Connections the gateway pooled before are now broken; a write put on
	// one may have left, so it must not be retried: that is not this test's
	// case. Each failed probe uses up one of them (or, when none is left,
	// fails to dial), so once a's errors have grown by more than the
	// connections a ever had, every later call to a is a refused dial.
	pooled := ps["a"].Conns()
	errsBefore, _ := g.nodeMetric(t, "rpcgate_node_errors_total", "a")
	eventually(t, 60*time.Second, "probes to drain a's pooled connections", func() (bool, string) {
		e, _ := g.nodeMetric(t, "rpcgate_node_errors_total", "a")
		return e > errsBefore+float64(pooled), fmt.Sprintf("rpcgate_node_errors_total{node=a} = %v, was %v; a had %d connections", e, errsBefore, pooled)
	})
	if up, _ := g.nodeMetric(t, "rpcgate_node_up", "a"); up != 1 {
		t.Fatalf("a is not up (%v) after its listener closed; fail_threshold 1000 should keep it selectable", up)
	}
	eventually(t, 30*time.Second, "a's frozen latency average within 1ms of b's", func() (bool, string) {
		la, lb := ewma("a"), ewma("b")
		return la-lb < 0.001, fmt.Sprintf("rpcgate_node_latency_ewma_seconds a=%v b=%v", la, lb)
	})

	reqsBefore, _ := g.nodeMetric(t, "rpcgate_node_requests_total", "a")
	retriesBefore, _ := g.Metric(t, "rpcgate_retries_total", map[string]string{"chain": "eth", "group": "writes"})
	gw := dial(t, g.URL)
	direct := dial(t, f.Node("b").URL) // nonces come from b, which gets every tx
	var sentTxs []*types.Transaction
	attemptsOnA := func() float64 {
		v, _ := g.nodeMetric(t, "rpcgate_node_requests_total", "a")
		return v - reqsBefore
	}
	// Ten transactions, and more (up to 40) only if a was never chosen: P2C
	// picks a about half the time, so ten leave a 1-in-1024 chance of it.
	for i := 0; i < 40 && (i < 10 || attemptsOnA() == 0); i++ {
		tx := signTx(t, direct, otherAddress, big.NewInt(int64(i+1)), nil)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := gw.SendTransaction(ctx, tx)
		cancel()
		if err != nil {
			t.Fatalf("tx %d (%s) via the gateway with a refusing connections: %v", i, tx.Hash(), err)
		}
		sentTxs = append(sentTxs, tx)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(badRaw) > 0 {
		t.Fatalf("b received eth_sendRawTransaction it could not decode: %v", badRaw)
	}
	for i, tx := range sentTxs {
		if n := atB[tx.Hash()]; n != 1 {
			t.Errorf("tx %d (%s) reached b %d times, want exactly 1", i, tx.Hash(), n)
		}
	}
	if len(atB) != len(sentTxs) {
		t.Errorf("b received %d distinct transactions, the client sent %d", len(atB), len(sentTxs))
	}
	tries := attemptsOnA()
	if tries <= 0 {
		t.Fatalf("no attempt went to a (rpcgate_node_requests_total{node=a} did not grow), so nothing was retried")
	}
	if e, _ := g.nodeMetric(t, "rpcgate_node_errors_total", "a"); e <= 0 {
		t.Errorf("rpcgate_node_errors_total{node=a} = %v, want > 0", e)
	}
	retries, _ := g.Metric(t, "rpcgate_retries_total", map[string]string{"chain": "eth", "group": "writes"})
	if retries-retriesBefore != tries {
		t.Errorf("rpcgate_retries_total{group=writes} grew by %v, want %v (one retry per attempt refused by a)", retries-retriesBefore, tries)
	}
	lb, _ := g.nodeMetric(t, "rpcgate_node_latency_ewma_seconds", "b")
	la, _ := g.nodeMetric(t, "rpcgate_node_latency_ewma_seconds", "a")
	t.Logf("%d transactions, %v first tried on a; latency ewma a=%v b=%v", len(sentTxs), tries, la, lb)
}
