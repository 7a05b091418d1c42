package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Issue 9: hedged reads, compared calls with block pinning, reputation and
// quarantine, write broadcast, against real anvil nodes.

// liarAddress holds nothing on the honest nodes; the liar claims it holds
// 0x1234.
var liarAddress = common.HexToAddress("0x00000000000000000000000000000000000d1e55")

type repView struct {
	Name       string  `json:"name"`
	State      string  `json:"state"`
	Score      float64 `json:"score"`
	Reputation struct {
		Disputes    uint64 `json:"disputes_lost"`
		Quarantines int    `json:"quarantines"`
		Phase       string `json:"phase"`
	} `json:"reputation"`
}

func repNodes(t testing.TB, g *Gateway) map[string]repView {
	t.Helper()
	code, body := g.Admin(t, http.MethodGet, "/admin/nodes", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /admin/nodes: %d %s", code, body)
	}
	var doc struct {
		Chains []struct {
			Nodes []repView `json:"nodes"`
		} `json:"chains"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Chains) == 0 {
		t.Fatalf("GET /admin/nodes: %v %s", err, body)
	}
	out := map[string]repView{}
	for _, n := range doc.Chains[0].Nodes {
		out[n.Name] = n
	}
	return out
}

func verifiedGroups(consensus string) map[string]GroupSpec {
	return map[string]GroupSpec{
		"default": {Nodes: []string{"a", "b", "c"}},
		"verified": {Methods: []string{"eth_getBalance", "eth_getBlockByNumber"}, Nodes: []string{"a", "b", "c"},
			Extra: "        consensus: " + consensus + "\n"},
	}
}

func mustResult(t testing.TB, r rpcReply) string {
	t.Helper()
	if !r.OK() || r.Result() == nil {
		t.Fatalf("call failed: %v", r)
	}
	return string(r.Result())
}

// Liar: one of three nodes lies about a balance. Quorum answers every call
// with the honest balance, the liar is quarantined after quarantine_after
// lost disputes, gets no ordinary traffic during its cool-off, and once
// the lie is undone it returns through shadow checks.
func TestRelayerLiarQuarantinedAndReturns(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	f.Mine(1)
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{Groups: verifiedGroups("{mode: quorum, participants: 3, agree: 2, on_dispute: error}"),
		ChainExtra: "    reputation: {quarantine_after: 3, cool_off: 4s, shadow_checks: 3}\n"})
	eventually(t, 30*time.Second, "a, b and c up", allUp(t, g, "a", "b", "c"))

	honest := mustResult(t, send(f.Node("a").URL, nil, rpcBody("eth_getBalance", liarAddress.Hex(), "latest")))
	if _, err := f.Node("c").Call(context.Background(), "anvil_setBalance", liarAddress.Hex(), "0x1234"); err != nil {
		t.Fatal(err)
	}
	body := rpcBody("eth_getBalance", liarAddress.Hex(), "latest")
	for i := 0; i < 100; i++ {
		if got := mustResult(t, send(g.URL, nil, body)); got != honest {
			t.Fatalf("call %d answered %s, want the honest %s", i, got, honest)
		}
	}
	eventually(t, 10*time.Second, "c quarantined", func() (bool, string) {
		n := repNodes(t, g)["c"]
		return strings.Contains(n.State, "quarantined"), fmt.Sprintf("%+v", n)
	})
	nodes := repNodes(t, g)
	if c := nodes["c"]; c.Reputation.Disputes < 3 || c.Reputation.Quarantines != 1 || c.Score >= nodes["a"].Score {
		t.Fatalf("liar after quarantine: %+v (a: %+v)", c, nodes["a"])
	}
	if q, _ := g.nodeMetric(t, "rpcgate_node_quarantined", "c"); q != 1 {
		t.Fatalf("rpcgate_node_quarantined{node=c} = %v, want 1", q)
	}
	if d, _ := g.nodeMetric(t, "rpcgate_node_disputes_total", "c"); d < 3 {
		t.Fatalf("rpcgate_node_disputes_total{node=c} = %v, want >= 3", d)
	}
	for _, n := range []string{"a", "b"} {
		if d, _ := g.nodeMetric(t, "rpcgate_node_disputes_total", n); d != 0 {
			t.Fatalf("honest %s lost %v disputes", n, d)
		}
	}

	// No ordinary traffic while quarantined.
	ps["c"].Reset()
	for i := 0; i < 20; i++ {
		if got := mustResult(t, send(g.URL, nil, body)); got != honest {
			t.Fatalf("during quarantine: %s, want %s", got, honest)
		}
		mustResult(t, send(g.URL, nil, rpcBody("eth_chainId")))
	}
	if ph := repNodes(t, g)["c"].Reputation.Phase; ph != "quarantined" {
		t.Fatalf("cool-off over before the check (phase %s); the count below would include shadow traffic", ph)
	}
	if n := ps["c"].Count("eth_getBalance") + ps["c"].Count("eth_chainId"); n != 0 {
		t.Fatalf("quarantined c got %d ordinary calls: %v", n, ps["c"].Counts())
	}

	// The lie undone: after the cool-off, shadow checks bring c back.
	var honestQty string
	if err := json.Unmarshal([]byte(honest), &honestQty); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Node("c").Call(context.Background(), "anvil_setBalance", liarAddress.Hex(), honestQty); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "c back in service", func() (bool, string) {
		if got := mustResult(t, send(g.URL, nil, body)); got != honest {
			t.Fatalf("during shadow checks: %s, want %s", got, honest)
		}
		n := repNodes(t, g)["c"]
		return n.State == "ok", fmt.Sprintf("%+v", n)
	})
	if ps["c"].Count("eth_getBalance") == 0 {
		t.Fatal("c returned without shadow traffic")
	}
	// The admin route that ends a quarantine by hand.
	if code, body := g.Admin(t, http.MethodPost, "/admin/chains/eth/nodes/c/unquarantine", nil); code != http.StatusOK ||
		!strings.Contains(string(body), `"was_quarantined":false`) {
		t.Fatalf("unquarantine of a serving node: %d %s", code, body)
	}
	if code, _ := g.Admin(t, http.MethodPost, "/admin/chains/eth/nodes/zz/unquarantine", nil); code != http.StatusNotFound {
		t.Fatalf("unquarantine of an unknown node: HTTP %d, want 404", code)
	}
}

// Fastest: the honest nodes are slowed, so the liar answers first and its
// answer is served; the background comparison records the dispute and
// lowers its score.
func TestRelayerFastestServesFirstAndRecordsDispute(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	f.Mine(1)
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{Groups: verifiedGroups("{mode: fastest, participants: 3}")})
	eventually(t, 30*time.Second, "a, b and c up", allUp(t, g, "a", "b", "c"))
	if _, err := f.Node("c").Call(context.Background(), "anvil_setBalance", liarAddress.Hex(), "0x1234"); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var held atomic.Int32
	slow := func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if strings.Contains(string(body), "eth_getBalance") {
			held.Add(1)
			<-release // until the client has its answer
		}
		return false
	}
	ps["a"].SetFault(slow)
	ps["b"].SetFault(slow)
	done := make(chan rpcReply, 1)
	go func() { done <- send(g.URL, nil, rpcBody("eth_getBalance", liarAddress.Hex(), "latest")) }()
	var r rpcReply
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		close(release)
		t.Fatal("fastest waited for the held nodes")
	}
	close(release)
	if got := mustResult(t, r); got != `"0x1234"` {
		t.Fatalf("fastest answered %s, want the liar's 0x1234 (it answered first)", got)
	}
	if held.Load() != 2 {
		t.Fatalf("%d honest nodes were asked, want 2", held.Load())
	}
	eventually(t, 20*time.Second, "dispute recorded against c", func() (bool, string) {
		d, _ := g.nodeMetric(t, "rpcgate_node_disputes_total", "c")
		n := repNodes(t, g)
		return d == 1 && n["c"].Score < n["a"].Score && n["c"].Score < 1, fmt.Sprintf("disputes %v, c %+v, a %+v", d, n["c"], n["a"])
	})
}

// No false disputes: with c two blocks behind a and b (within max_lag),
// latest reads are pinned to the block all three have, so they agree, and
// each answer is what a node at that block answers for the very request.
func TestRelayerPinningNoFalseDisputes(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	f.Mine(3)
	f.Mine(2, "a", "b")
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{Groups: verifiedGroups("{mode: quorum, participants: 3, agree: 3, on_dispute: error}"),
		ChainExtra: "    max_lag: 3\n"})
	eventually(t, 30*time.Second, "a, b and c up", allUp(t, g, "a", "b", "c"))
	eventually(t, 10*time.Second, "heads 5, 5, 3", func() (bool, string) {
		n, _ := g.AdminNodes(t)
		return n["a"].Head == 5 && n["b"].Head == 5 && n["c"].Head == 3, fmt.Sprintf("%d %d %d", n["a"].Head, n["b"].Head, n["c"].Head)
	})
	reads := [][]byte{rpcBody("eth_getBlockByNumber", "latest", false), rpcBody("eth_getBalance", devAddress.Hex(), "finalized"),
		rpcBody("eth_getBlockByNumber", "latest", true), rpcBody("eth_getBalance", devAddress.Hex(), "latest")}
	want := make([]string, len(reads))
	for i, b := range reads {
		want[i] = compact(t, parseResponse(t, send(f.Node("c").URL, nil, b).Body).Result) // c is at the pinned block
	}
	for i := 0; i < 200; i++ {
		r := send(g.URL, nil, reads[i%len(reads)])
		if !r.OK() {
			t.Fatalf("read %d failed: %v", i, r)
		}
		if got := compact(t, parseResponse(t, r.Body).Result); got != want[i%len(reads)] {
			t.Fatalf("read %d answered %s, want %s (what c, at the pinned block, answers)", i, got, want[i%len(reads)])
		}
	}
	if d, _ := g.Metric(t, "rpcgate_consensus_rounds_total", map[string]string{"result": "disputed"}); d != 0 {
		t.Fatalf("%v disputes between honest nodes a block apart", d)
	}
	if a, _ := g.Metric(t, "rpcgate_consensus_rounds_total", map[string]string{"result": "agreed"}); a < 200 {
		t.Fatalf("%v agreed rounds, want 200", a)
	}
}

// Broadcast: one eth_sendRawTransaction reaches every node's pool, and the
// client gets the hash once.
func TestRelayerBroadcastWrite(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{ChainExtra: "    broadcast_writes: true\n"})
	eventually(t, 30*time.Second, "a, b and c up", allUp(t, g, "a", "b", "c"))
	tx := signTx(t, dial(t, f.Node("a").URL), otherAddress, big.NewInt(1), nil)
	r := send(g.URL, nil, rpcBody("eth_sendRawTransaction", hexBytes(rawTx(t, tx))))
	if got := mustResult(t, r); got != `"`+tx.Hash().Hex()+`"` {
		t.Fatalf("client got %s, want the hash %s once", got, tx.Hash().Hex())
	}
	for _, n := range []string{"a", "b", "c"} {
		if c := ps[n].Count("eth_sendRawTransaction"); c != 1 {
			t.Errorf("%s saw the write %d times, want 1", n, c)
		}
		got := send(f.Node(n).URL, nil, rpcBody("eth_getTransactionByHash", tx.Hash().Hex()))
		if got.Result() == nil {
			t.Errorf("tx not in %s's pool: %v", n, got)
		}
	}
}

// Writes are never hedged or compared: with every node slow and a hedge
// delay far below it, a read is hedged but a write reaches one node.
func TestRelayerWritesNeverHedged(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{Groups: map[string]GroupSpec{
		"default": {Nodes: []string{"a", "b", "c"}, Extra: "        hedge: {after: 20ms, max: 2}\n"}}})
	eventually(t, 30*time.Second, "a, b and c up", allUp(t, g, "a", "b", "c"))
	for _, p := range ps {
		p.SetFault(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
			if strings.Contains(string(body), "eth_sendRawTransaction") || strings.Contains(string(body), "eth_getBalance") {
				time.Sleep(300 * time.Millisecond)
			}
			return false
		})
	}
	tx := signTx(t, dial(t, f.Node("a").URL), otherAddress, big.NewInt(1), nil)
	mustResult(t, send(g.URL, nil, rpcBody("eth_sendRawTransaction", hexBytes(rawTx(t, tx)))))
	total := 0
	for _, p := range ps {
		total += p.Count("eth_sendRawTransaction")
	}
	if total != 1 {
		t.Fatalf("the write reached %d nodes, want exactly 1", total)
	}
	mustResult(t, send(g.URL, nil, rpcBody("eth_getBalance", devAddress.Hex(), "latest")))
	reads := 0
	for _, p := range ps {
		reads += p.Count("eth_getBalance")
	}
	if sent, _ := g.Metric(t, "rpcgate_hedges_total", map[string]string{"event": "sent"}); sent < 1 || reads < 2 {
		t.Fatalf("the slow read was not hedged (hedges sent %v, nodes asked %d): the contrast is void", sent, reads)
	}
}

// Frozen node with hedging: three anvils, one SIGSTOPped for 20 s under 8
// readers. With hedging (adaptive) no read fails; the test logs p99 and,
// for contrast, the same run with hedging off.
func TestRelayerFrozenNodeHedged(t *testing.T) {
	st := frozenRun(t, "")
	t.Logf("hedging on (adaptive): %d reads during the freeze, p50 %v, p99 %v, max %v, %d waited >= 500ms",
		st.n, st.p50, st.p99, st.max, st.waited)
	if st.failed != 0 {
		t.Fatalf("%d reads failed with hedging on; first: %v", st.failed, st.firstErr)
	}
}

func TestRelayerFrozenNodeUnhedged(t *testing.T) {
	st := frozenRun(t, "        hedge: {off: true}\n")
	t.Logf("hedging off: %d reads during the freeze, p50 %v, p99 %v, max %v, %d waited >= 500ms (an attempt timeout)",
		st.n, st.p50, st.p99, st.max, st.waited)
}

type frozenStats struct {
	n, failed, waited int
	p50, p99, max     time.Duration
	firstErr          error
}

func frozenRun(t *testing.T, extra string) frozenStats {
	f := StartFleet(t, "a", "b", "c")
	f.Mine(1)
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{Groups: map[string]GroupSpec{"default": {Nodes: []string{"a", "b", "c"}, Extra: extra}}})
	eventually(t, 30*time.Second, "a, b and c up", allUp(t, g, "a", "b", "c"))
	type read struct {
		start time.Time
		took  time.Duration
		err   error
	}
	var (
		mu    sync.Mutex
		reads []read
		ids   atomic.Int64
		wg    sync.WaitGroup
	)
	ctx, stop := context.WithCancel(context.Background())
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 30 * time.Second}
			for ctx.Err() == nil {
				start := time.Now()
				err := call(context.Background(), client, g.URL, ids.Add(1), balanceRead)
				mu.Lock()
				reads = append(reads, read{start, time.Since(start), err})
				mu.Unlock()
			}
		}()
	}
	t.Cleanup(func() { stop(); wg.Wait() })
	time.Sleep(2 * time.Second) // warm up: the adaptive delay learns the group's latency
	frozen := f.Node("b")
	frozenAt := time.Now()
	frozen.signal(t, syscall.SIGSTOP)
	time.Sleep(20 * time.Second)
	thawAt := time.Now()
	frozen.signal(t, syscall.SIGCONT)
	stop()
	wg.Wait()
	var st frozenStats
	var lat []time.Duration
	mu.Lock()
	defer mu.Unlock()
	for _, r := range reads {
		if r.err != nil {
			st.failed++
			if st.firstErr == nil {
				st.firstErr = r.err
			}
		}
		if r.start.After(frozenAt) && r.start.Before(thawAt) {
			lat = append(lat, r.took)
			if r.took >= 500*time.Millisecond {
				st.waited++
			}
		}
	}
	if len(lat) == 0 {
		t.Fatal("no read ran while b was frozen")
	}
	slices.Sort(lat)
	st.n, st.p50, st.p99, st.max = len(lat), lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	return st
}
