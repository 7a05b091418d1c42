package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/rpcgate/rpcgate/internal/redistest"
)

// Response cache (issue 13), against real anvils started with
// --slots-in-an-epoch so that they report a finalized block (head − 2 ×
// slots).

// cacheExtra turns the cache on for chain eth, polling finality fast.
const cacheExtra = "    finality_depth: 8\n    cache: {max_bytes: 67108864, finality_poll: 100ms}\n"

// StartFinalityFleet starts anvils that report finalized = head − 2×slots.
func StartFinalityFleet(t testing.TB, slots int, names ...string) *Fleet {
	t.Helper()
	bin := anvilPath(t)
	f := &Fleet{t: t}
	for _, name := range names {
		a := &Anvil{Name: name, bin: bin, out: &syncBuffer{}, extra: []string{"--slots-in-an-epoch", fmt.Sprint(slots)}}
		t.Cleanup(func() {
			a.Kill()
			if t.Failed() && a.out.Len() > 0 {
				t.Logf("anvil %s output:\n%s", a.Name, a.out.String())
			}
		})
		if err := a.start(0); err != nil {
			t.Fatalf("start anvil %s: %v", name, err)
		}
		f.Nodes = append(f.Nodes, a)
	}
	f.RequireIdentical()
	return f
}

// waitFinalized waits until the gateway counts block n as finalized.
func waitFinalized(t testing.TB, g *Gateway, n uint64) {
	t.Helper()
	eventually(t, 20*time.Second, fmt.Sprintf("finalized >= %d", n), func() (bool, string) {
		v, _ := g.Metric(t, "rpcgate_chain_finalized", map[string]string{"chain": "eth"})
		return uint64(v) >= n, fmt.Sprintf("rpcgate_chain_finalized = %v", v)
	})
}

// direct posts body to a node itself and returns the body as sent.
func direct(t testing.TB, url string, body []byte) []byte {
	t.Helper()
	r := send(url, nil, body)
	if r.Err != nil || r.Status != 200 {
		t.Fatalf("direct %s: %v", body, r)
	}
	return r.Body
}

// gw posts body to the gateway and returns the body and Cache-Status.
func gw(t testing.TB, g *Gateway, body []byte) ([]byte, string) {
	t.Helper()
	r := send(g.URL, nil, body)
	if r.Err != nil || r.Status != 200 {
		t.Fatalf("gateway %s: %v", body, r)
	}
	return r.Body, r.Header.Get("Cache-Status")
}

// rawBody builds a call with a raw JSON id and raw params.
func rawBody(id, method, params string) []byte {
	return []byte(`{"jsonrpc":"2.0","id":` + id + `,"method":"` + method + `","params":` + params + `}`)
}

func hexN(n uint64) string { return fmt.Sprintf("%q", hexUint(n)) }

// cacheChain mines a chain with logs, a transfer and contracts, and returns
// the fleet, its single proxy and the hashes the tests read.
type cacheChain struct {
	f                *Fleet
	p                *Proxy
	g                *Gateway
	logBlock, txBlk  uint64
	txHash, blkHash  string
	transferReceipt  string
	head, finalBelow uint64
}

func startCacheChain(t *testing.T, opts GatewayOpts) *cacheChain {
	f := StartFinalityFleet(t, 1, "a")
	installContracts(f)
	f.Mine(1)
	cl := dial(t, f.Node("a").URL)
	txs := emitLogs(t, f, cl, []byte("one"), []byte("two"))
	tx := signTx(t, cl, otherAddress, big.NewInt(7), nil)
	f.BroadcastRaw(rawTx(t, tx))
	f.Mine(1)
	r, err := cl.TransactionReceipt(context.Background(), tx.Hash())
	if err != nil {
		t.Fatal(err)
	}
	f.Mine(6) // finalized = head − 2 reaches every block above
	head, _ := f.Node("a").Head()
	p := StartProxy(t, "a", f.Node("a").URL)
	if opts.ChainExtra == "" {
		opts.ChainExtra = cacheExtra
	}
	g := StartGateway(t, map[string]*Proxy{"a": p}, opts)
	waitFinalized(t, g, head-2)
	rl, _ := cl.TransactionReceipt(context.Background(), txs[0].Hash())
	return &cacheChain{f: f, p: p, g: g, logBlock: rl.BlockNumber.Uint64(), txBlk: r.BlockNumber.Uint64(),
		txHash: tx.Hash().Hex(), blkHash: r.BlockHash.Hex(), head: head, finalBelow: head - 2}
}

// TestCacheByteIdentity: for a table of methods and ids of every kind, the
// answer served from the cache equals the node's own answer byte for byte,
// and the node is not asked again.
func TestCacheByteIdentity(t *testing.T) {
	t.Parallel()
	c := startCacheChain(t, GatewayOpts{})
	n, h, tx := hexN(c.txBlk), fmt.Sprintf("%q", c.blkHash), fmt.Sprintf("%q", c.txHash)
	emitter, konst := fmt.Sprintf("%q", emitterAddress.Hex()), fmt.Sprintf("%q", constAddress.Hex())
	empty := fmt.Sprintf("%q", common.HexToAddress("0x00000000000000000000000000000000000000ee").Hex())
	dev := fmt.Sprintf("%q", devAddress.Hex())
	calls := []struct{ method, params string }{
		{"eth_getBlockByNumber", "[" + n + ",false]"},
		{"eth_getBlockByNumber", "[" + n + ",true]"},
		{"eth_getBlockByHash", "[" + h + ",false]"},
		{"eth_getBlockByHash", "[" + h + ",true]"},
		{"eth_getTransactionReceipt", "[" + tx + "]"},
		{"eth_getBlockReceipts", "[" + n + "]"},
		{"eth_getTransactionByHash", "[" + tx + "]"},
		{"eth_getTransactionByBlockNumberAndIndex", "[" + n + ",\"0x0\"]"},
		{"eth_getCode", "[" + konst + "," + n + "]"},
		{"eth_getCode", "[" + empty + "," + n + "]"},
		{"eth_getStorageAt", "[" + konst + ",\"0x0\"," + n + "]"},
		{"eth_getBalance", "[" + dev + "," + n + "]"},
		{"eth_getBalance", "[" + dev + ",{\"blockHash\":" + h + "}]"},
		{"eth_getLogs", `[{"fromBlock":"0x0","toBlock":` + hexN(c.logBlock+1) + `,"address":` + emitter + `}]`},
	}
	ids := []string{`1`, `"str-id"`, `null`, `9007199254740993`, `0`}
	for _, call := range calls {
		// The first call fills the cache.
		first, st := gw(t, c.g, rawBody(`42`, call.method, call.params))
		if st != "rpcgate; fwd=miss" {
			t.Errorf("%s %s: first Cache-Status %q, want fwd=miss", call.method, call.params, st)
		}
		if want := direct(t, c.f.Node("a").URL, rawBody(`42`, call.method, call.params)); !bytes.Equal(first, want) {
			t.Errorf("%s: forwarded answer differs from the node's:\n got %s\nwant %s", call.method, first, want)
		}
		before := c.p.Count(call.method)
		for _, id := range ids {
			body := rawBody(id, call.method, call.params)
			got, st := gw(t, c.g, body)
			want := direct(t, c.f.Node("a").URL, body)
			if st != "rpcgate; hit" {
				t.Errorf("%s id %s: Cache-Status %q, want hit", call.method, id, st)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s id %s: cached answer differs from the node's:\n got %s\nwant %s", call.method, id, got, want)
			}
		}
		if call.method != "eth_getBlockByNumber" { // the finality poll also calls that one
			if after := c.p.Count(call.method); after != before {
				t.Errorf("%s: the node saw %d calls for cached answers", call.method, after-before)
			}
		}
	}
}

// TestCacheFinalizedReadHitsNodeOnce: 100 reads at or below finalized reach
// the node once; a block above finalized is cached only under its hash.
func TestCacheFinalizedReadHitsNodeOnce(t *testing.T) {
	t.Parallel()
	c := startCacheChain(t, GatewayOpts{})
	body := rawBody(`1`, "eth_getBalance", "["+fmt.Sprintf("%q", devAddress.Hex())+","+hexN(c.finalBelow)+"]")
	for i := 0; i < 100; i++ {
		gw(t, c.g, body)
	}
	if got := c.p.Count("eth_getBalance"); got != 1 {
		t.Fatalf("100 reads of a finalized balance reached the node %d times, want 1", got)
	}

	// Above finalized: by number never from the cache, by hash from it.
	c.f.Mine(1)
	head, _ := c.f.Node("a").Head()
	hash, _ := c.f.Node("a").BlockHash(head)
	byNum := rawBody(`1`, "eth_getTransactionByBlockNumberAndIndex", "["+hexN(head)+",\"0x0\"]")
	byHash := rawBody(`1`, "eth_getBlockTransactionCountByHash", "["+fmt.Sprintf("%q", hash)+"]")
	for i := 0; i < 3; i++ {
		if _, st := gw(t, c.g, byNum); st != "rpcgate; fwd=miss" {
			t.Fatalf("read %d by number above finalized: Cache-Status %q, want fwd=miss", i, st)
		}
	}
	if n := c.p.Count("eth_getTransactionByBlockNumberAndIndex"); n != 3 {
		t.Fatalf("reads by number above finalized reached the node %d times, want 3", n)
	}
	gw(t, c.g, byHash)
	if _, st := gw(t, c.g, byHash); st != "rpcgate; hit" {
		t.Fatalf("second read by hash above finalized: Cache-Status %q, want hit", st)
	}
	if n := c.p.Count("eth_getBlockTransactionCountByHash"); n != 1 {
		t.Fatalf("reads by hash reached the node %d times, want 1", n)
	}
}

// TestCacheBugList pins the cache bugs eRPC's users reported.
func TestCacheBugList(t *testing.T) {
	t.Parallel()
	c := startCacheChain(t, GatewayOpts{})
	a := c.f.Node("a").URL
	cl := dial(t, a)

	t.Run("finalized tag answer is not stored under the tag", func(t *testing.T) {
		body := rawBody(`1`, "eth_getBlockByNumber", `["finalized",false]`)
		first, st := gw(t, c.g, body)
		if st == "rpcgate; hit" {
			t.Fatalf("a finalized-tag read was a hit")
		}
		c.f.Mine(4)
		h, _ := c.f.Node("a").Head()
		waitFinalized(t, c.g, h-2)
		second, st := gw(t, c.g, body)
		if st == "rpcgate; hit" || bytes.Equal(first, second) {
			t.Fatalf("after finality moved, the finalized tag still answered the old block (%s)", st)
		}
		if want := direct(t, a, body); !bytes.Equal(second, want) {
			t.Fatalf("finalized tag answer %s, node says %s", second, want)
		}
	})
	t.Run("null receipt of a pending transaction is not cached", func(t *testing.T) {
		tx := signTx(t, cl, otherAddress, big.NewInt(3), nil)
		c.f.BroadcastRaw(rawTx(t, tx))
		body := rawBody(`1`, "eth_getTransactionReceipt", fmt.Sprintf("[%q]", tx.Hash().Hex()))
		got, _ := gw(t, c.g, body)
		if !strings.Contains(string(got), `"result":null`) {
			t.Fatalf("pending receipt: %s", got)
		}
		c.f.Mine(1)
		got, st := gw(t, c.g, body)
		if strings.Contains(string(got), `"result":null`) || st == "rpcgate; hit" {
			t.Fatalf("the receipt of a mined tx is still null from the cache (%s): %s", st, got)
		}
	})
	t.Run("errors are not cached", func(t *testing.T) {
		body := rawBody(`1`, "eth_getBalance", `["0xnot-an-address",`+hexN(c.finalBelow)+`]`)
		before := c.p.Count("eth_getBalance")
		for i := 0; i < 3; i++ {
			got, st := gw(t, c.g, body)
			if !strings.Contains(string(got), `"error"`) || st == "rpcgate; hit" {
				t.Fatalf("call %d: %s (%s)", i, got, st)
			}
		}
		if n := c.p.Count("eth_getBalance") - before; n != 3 {
			t.Fatalf("3 failing calls reached the node %d times, want 3", n)
		}
	})
	t.Run("empty code at a finalized block is cached", func(t *testing.T) {
		body := rawBody(`1`, "eth_getCode", `["0x00000000000000000000000000000000000000ef",`+hexN(c.finalBelow)+`]`)
		first, _ := gw(t, c.g, body)
		if !strings.Contains(string(first), `"result":"0x"`) {
			t.Fatalf("empty code: %s", first)
		}
		if _, st := gw(t, c.g, body); st != "rpcgate; hit" {
			t.Fatalf("empty final code not served from cache: %s", st)
		}
	})
}

// TestCacheCoalescing: 200 concurrent identical reads (of the tip, never
// cached) cause one upstream call, and each client gets its own id.
func TestCacheCoalescing(t *testing.T) {
	t.Parallel()
	c := startCacheChain(t, GatewayOpts{})
	release := make(chan struct{})
	var once sync.Once
	c.p.SetFault(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if bytes.Contains(body, []byte("eth_getTransactionCount")) {
			<-release // hold the one upstream call until every client waits on it
		}
		return false
	})
	const clients = 200
	var wg sync.WaitGroup
	answers := make([][]byte, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := send(c.g.URL, nil, rawBody(fmt.Sprint(1000+i), "eth_getTransactionCount", fmt.Sprintf(`[%q,"latest"]`, devAddress.Hex())))
			answers[i] = r.Body
		}()
	}
	eventually(t, 30*time.Second, "199 calls waiting on the first", func() (bool, string) {
		v, _ := c.g.Metric(t, "rpcgate_cache_waiting", map[string]string{"chain": "eth"})
		return v == clients-1, fmt.Sprintf("waiting = %v", v)
	})
	once.Do(func() { close(release) })
	wg.Wait()
	if n := c.p.Count("eth_getTransactionCount"); n != 1 {
		t.Fatalf("%d concurrent identical reads made %d upstream calls, want 1", clients, n)
	}
	var result json.RawMessage
	for i, a := range answers {
		var r struct {
			ID     json.RawMessage
			Result json.RawMessage
		}
		if err := json.Unmarshal(a, &r); err != nil {
			t.Fatalf("client %d: %s", i, a)
		}
		if string(r.ID) != fmt.Sprint(1000+i) {
			t.Fatalf("client %d got id %s", i, r.ID)
		}
		if result == nil {
			result = r.Result
		} else if !bytes.Equal(result, r.Result) {
			t.Fatalf("client %d result %s, others %s", i, r.Result, result)
		}
	}
	if v, _ := c.g.Metric(t, "rpcgate_cache_coalesced_total", map[string]string{"chain": "eth"}); v != clients-1 {
		t.Fatalf("rpcgate_cache_coalesced_total = %v, want %d", v, clients-1)
	}
}

// TestCacheLogsRangeSplitting: with max_logs_range 100, one eth_getLogs
// over 1,000 blocks returns exactly the single-node answer, made of at
// least 10 chunk calls spread over both nodes; a failing chunk fails the
// call with its error.
func TestCacheLogsRangeSplitting(t *testing.T) {
	t.Parallel()
	f := StartFinalityFleet(t, 1, "a", "b")
	installContracts(f)
	cl := dial(t, f.Node("a").URL)
	for i := 0; i < 10; i++ {
		emitLogs(t, f, cl, []byte(fmt.Sprintf("log-%d", i)))
		f.Mine(99)
	}
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{ChainExtra: cacheExtra, Groups: map[string]GroupSpec{
		"default": {Nodes: []string{"a", "b"}},
		"logs":    {Methods: []string{"eth_getLogs"}, Nodes: []string{"a", "b"}, MaxLogsRange: 100},
	}})
	params := fmt.Sprintf(`[{"fromBlock":"0x1","toBlock":"0x3e8","address":%q}]`, emitterAddress.Hex())
	body := rawBody(`7`, "eth_getLogs", params)
	want := direct(t, f.Node("a").URL, body)
	if n := strings.Count(string(want), `"logIndex"`); n != 10 {
		t.Fatalf("fixture: the node returns %d logs, want 10: %s", n, want)
	}
	ResetAll(ps)
	got, _ := gw(t, g, body)
	if !bytes.Equal(got, want) {
		t.Fatalf("split answer differs from one node's:\n got %s\nwant %s", got, want)
	}
	ca, cb := ps["a"].Count("eth_getLogs"), ps["b"].Count("eth_getLogs")
	if ca+cb < 10 || ca == 0 || cb == 0 {
		t.Fatalf("chunk calls: a %d, b %d; want >= 10 over both nodes", ca, cb)
	}

	// A chunk that fails fails the whole call, with the node's error.
	fail := func(w http.ResponseWriter, r *http.Request, b []byte) bool {
		if bytes.Contains(b, []byte(`"fromBlock":"0x1f6"`)) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"chunk refused"}}`)
			return true
		}
		return false
	}
	ps["a"].SetFault(fail)
	ps["b"].SetFault(fail)
	got, _ = gw(t, g, rawBody(`8`, "eth_getLogs", fmt.Sprintf(`[{"fromBlock":"0x2","toBlock":"0x3e9","address":%q}]`, emitterAddress.Hex())))
	if !strings.Contains(string(got), `"error"`) || !strings.Contains(string(got), "chunk refused") || strings.Contains(string(got), `"result"`) {
		t.Fatalf("a failing chunk did not fail the call with its error: %s", got)
	}
	if !strings.Contains(string(got), `"id":8`) {
		t.Fatalf("the error does not carry the client's id: %s", got)
	}
}

// TestCacheRedisTierSharedByReplicas: replica B serves a block that
// replica A cached, without calling a node.
func TestCacheRedisTierSharedByReplicas(t *testing.T) {
	t.Parallel()
	addr, prefix := redistest.Shared(t)
	f := StartFinalityFleet(t, 1, "a")
	f.Mine(8)
	pa, pb := StartProxy(t, "a", f.Node("a").URL), StartProxy(t, "a", f.Node("a").URL)
	extra := fmt.Sprintf("    finality_depth: 8\n    cache: {max_bytes: 67108864, finality_poll: 100ms, redis: %q, redis_prefix: %q}\n", "redis://"+addr+"/0", prefix)
	ga := StartGateway(t, map[string]*Proxy{"a": pa}, GatewayOpts{ChainExtra: extra})
	gb := StartGateway(t, map[string]*Proxy{"a": pb}, GatewayOpts{ChainExtra: extra})
	waitFinalized(t, ga, 6)
	waitFinalized(t, gb, 6)
	hash, _ := f.Node("a").BlockHash(5)
	body := rawBody(`"r"`, "eth_getBlockByHash", fmt.Sprintf(`[%q,true]`, hash))
	want := direct(t, f.Node("a").URL, body)
	if got, st := gw(t, ga, body); st != "rpcgate; fwd=miss" || !bytes.Equal(got, want) {
		t.Fatalf("replica A: %s %s", st, got)
	}
	got, st := gw(t, gb, body)
	if st != "rpcgate; hit" || !bytes.Equal(got, want) {
		t.Fatalf("replica B did not serve A's cached block: Cache-Status %q\n got %s\nwant %s", st, got, want)
	}
	if n := pb.Count("eth_getBlockByHash"); n != 0 {
		t.Fatalf("replica B called its node %d times for a block A had cached", n)
	}
	if v, _ := gb.Metric(t, "rpcgate_cache_lookups_total", map[string]string{"chain": "eth", "tier": "redis", "result": "hit"}); v != 1 {
		t.Fatalf("replica B redis hits = %v, want 1", v)
	}
	if len(redistest.Keys(t, addr, prefix)) == 0 {
		t.Fatalf("nothing under the test's Redis prefix %s", prefix)
	}

	// The admin purge empties the chain's cache in memory and in Redis.
	if code, b := ga.Admin(t, "POST", "/admin/chains/eth/cache/purge", nil); code != 200 {
		t.Fatalf("purge: HTTP %d %s", code, b)
	}
	if keys := redistest.Keys(t, addr, prefix); len(keys) != 0 {
		t.Fatalf("after purge, Redis still holds %v", keys)
	}
	if _, st := gw(t, ga, body); st != "rpcgate; fwd=miss" {
		t.Fatalf("after purge, replica A still hit: %s", st)
	}
}

// forwardTo is a proxy fault that sends every request to another node:
// the node behind the proxy switches fork at once.
func forwardTo(url string) Fault {
	return func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		resp, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			abortConn(w)
			return true
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		return true
	}
}

// TestCacheReorgEvicts: two anvils diverge (a different transaction mined
// on each at the same height; b's fork then grows longer). The gateway's
// node switches from a's fork to b's; right after the gateway sees the
// reorg, 100 reads of the replaced block and its receipts never return
// a's answers.
func TestCacheReorgEvicts(t *testing.T) {
	t.Parallel()
	f := StartFinalityFleet(t, 32, "a", "b") // finalized stays at 0: everything above is unfinalized
	f.Mine(4)
	a, b := f.Node("a"), f.Node("b")
	cla, clb := dial(t, a.URL), dial(t, b.URL)
	txA := signTx(t, cla, otherAddress, big.NewInt(1), nil)
	txB := signTx(t, clb, otherAddress, big.NewInt(2), nil)
	f.Do("eth_sendRawTransaction", []any{hexBytes(rawTx(t, txA))}, "a")
	f.Do("eth_sendRawTransaction", []any{hexBytes(rawTx(t, txB))}, "b")
	f.Mine(1, "a")
	f.Mine(1, "b")
	hashA, _ := a.BlockHash(5)
	hashB, _ := b.BlockHash(5)
	if hashA == hashB {
		t.Fatal("fixture: the forks did not diverge at block 5")
	}

	p := StartProxy(t, "n", a.URL)
	g := StartGateway(t, map[string]*Proxy{"n": p}, GatewayOpts{
		ChainExtra: "    finality_depth: 1000\n    cache: {max_bytes: 67108864, finality_poll: 100ms, unfinalized_ttl: 10m}\n"})
	reads := [][]byte{
		rawBody(`1`, "eth_getBlockByHash", fmt.Sprintf(`[%q,false]`, hashA)),
		rawBody(`2`, "eth_getTransactionReceipt", fmt.Sprintf(`[%q]`, txA.Hash().Hex())),
		rawBody(`3`, "eth_getTransactionByHash", fmt.Sprintf(`[%q]`, txA.Hash().Hex())),
		rawBody(`4`, "eth_getBlockReceipts", fmt.Sprintf(`[%q]`, hashA)),
		rawBody(`5`, "eth_getBlockByNumber", `["0x5",false]`),
	}
	// On a's fork: every read is answered, and the by-hash ones are cached.
	for _, r := range reads {
		gw(t, g, r)
		if got, _ := gw(t, g, r); !bytes.Contains(got, []byte(hashA)) {
			t.Fatalf("on fork a, %s answered %s", r, got)
		}
	}
	eventually(t, 10*time.Second, "block 5 known as canonical", func() (bool, string) {
		v, _ := g.Metric(t, "rpcgate_cache_lookups_total", map[string]string{"chain": "eth", "class": "receipt", "tier": "memory", "result": "hit"})
		return v >= 1, fmt.Sprintf("receipt hits %v", v)
	})

	// b's fork grows longer, and the node behind the gateway is now on it.
	f.Mine(3, "b")
	p.SetFault(forwardTo(b.URL))
	eventually(t, 20*time.Second, "the gateway to see the reorg", func() (bool, string) {
		v, _ := g.Metric(t, "rpcgate_chain_reorgs_total", map[string]string{"chain": "eth"})
		return v >= 1, fmt.Sprintf("rpcgate_chain_reorgs_total = %v", v)
	})
	if v, _ := g.Metric(t, "rpcgate_cache_reorg_evictions_total", map[string]string{"chain": "eth"}); v < 1 {
		t.Fatalf("rpcgate_cache_reorg_evictions_total = %v after the reorg", v)
	}
	for i := 0; i < 100; i++ {
		r := reads[i%len(reads)]
		got, st := gw(t, g, r)
		if bytes.Contains(got, []byte(hashA)) || bytes.Contains(got, []byte(strings.ToLower(hashA))) {
			t.Fatalf("read %d after the reorg returned the old fork's answer (%s): %s", i, st, got)
		}
	}
	if got, _ := gw(t, g, reads[4]); !bytes.Contains(got, []byte(hashB)) {
		t.Fatalf("block 5 after the switch: %s, want b's %s", got, hashB)
	}
}

// TestCacheBatchElements: batch elements are answered from the cache too,
// byte for byte as the node answers the same batch, and cached elements
// are not sent to the node again.
func TestCacheBatchElements(t *testing.T) {
	t.Parallel()
	c := startCacheChain(t, GatewayOpts{})
	n := hexN(c.finalBelow)
	batch := []byte(`[` + string(rawBody(`1`, "eth_getBalance", fmt.Sprintf(`[%q,%s]`, devAddress.Hex(), n))) + `,` +
		string(rawBody(`"two"`, "eth_getTransactionReceipt", fmt.Sprintf(`[%q]`, c.txHash))) + `,` +
		`{"jsonrpc":"2.0","method":"eth_chainId","params":[]},` +
		string(rawBody(`3`, "eth_getBlockTransactionCountByNumber", `[`+n+`]`)) + `]`)
	want := direct(t, c.f.Node("a").URL, batch)
	first, _ := gw(t, c.g, batch)
	if !bytes.Equal(first, want) {
		t.Fatalf("first batch differs from the node's:\n got %s\nwant %s", first, want)
	}
	before := c.p.Total()
	second, _ := gw(t, c.g, batch)
	if !bytes.Equal(second, want) {
		t.Fatalf("cached batch differs from the node's:\n got %s\nwant %s", second, want)
	}
	if got := c.p.Count("eth_getBalance") + c.p.Count("eth_getTransactionReceipt") + c.p.Count("eth_getBlockTransactionCountByNumber"); got != 3 {
		t.Fatalf("cached batch elements reached the node again (%d calls; total before %d, after %d)", got, before, c.p.Total())
	}
}

// TestCacheRealtimeOffByDefault: tip answers are never kept unless
// realtime_ttl is set; with it, they are kept for that long.
func TestCacheRealtimeOffByDefault(t *testing.T) {
	t.Parallel()
	f := StartFinalityFleet(t, 1, "a")
	p := StartProxy(t, "a", f.Node("a").URL)
	off := StartGateway(t, map[string]*Proxy{"a": p}, GatewayOpts{ChainExtra: cacheExtra})
	body := rawBody(`1`, "eth_gasPrice", `[]`)
	for i := 0; i < 2; i++ {
		if _, st := gw(t, off, body); st != "rpcgate; fwd=miss" {
			t.Fatalf("gas price without realtime_ttl: Cache-Status %q", st)
		}
	}
	if n := p.Count("eth_gasPrice"); n != 2 {
		t.Fatalf("gas price without realtime_ttl reached the node %d times, want 2", n)
	}
	q := StartProxy(t, "a", f.Node("a").URL)
	on := StartGateway(t, map[string]*Proxy{"a": q}, GatewayOpts{ChainExtra: "    cache: {realtime_ttl: 1h, finality_poll: 100ms}\n"})
	gw(t, on, body)
	if got, st := gw(t, on, body); st != "rpcgate; hit" || !bytes.Equal(got, direct(t, f.Node("a").URL, body)) {
		t.Fatalf("gas price with realtime_ttl: Cache-Status %q, %s", st, got)
	}
	if n := q.Count("eth_gasPrice"); n != 1 {
		t.Fatalf("gas price with realtime_ttl reached the node %d times, want 1", n)
	}
	// eth_blockNumber is never kept: it must not go backwards.
	gw(t, on, rawBody(`1`, "eth_blockNumber", `[]`))
	if _, st := gw(t, on, rawBody(`1`, "eth_blockNumber", `[]`)); st == "rpcgate; hit" {
		t.Fatal("eth_blockNumber was served from the cache")
	}
}
