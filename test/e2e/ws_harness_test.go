package e2e

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
)

// Harness for the WebSocket, subscription and filter tests.

// wsConfig renders a gateway config over the fleet's nodes: every node's
// url, and a ws URL (anvil serves WebSocket on its HTTP port) for the
// nodes in withWS; the others are polled. extra is appended (top level).
func wsConfig(nodes []*Anvil, withWS map[string]bool, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: ${%s}\nadmin:\n  listen: ${%s}\n  token: %q\nshutdown_timeout: 5s\n", listenEnv, adminEnv, "e2e-token")
	fmt.Fprintf(&b, "chains:\n  eth:\n    chain_id: %d\n    poll_interval: 200ms\n    nodes:\n", chainID)
	var names []string
	for _, a := range nodes {
		names = append(names, a.Name)
		if withWS[a.Name] {
			fmt.Fprintf(&b, "      %s: {url: %q, ws: %q}\n", a.Name, a.URL, strings.Replace(a.URL, "http://", "ws://", 1))
		} else {
			fmt.Fprintf(&b, "      %s: {url: %q}\n", a.Name, a.URL)
		}
	}
	fmt.Fprintf(&b, "    groups:\n      default: {nodes: [%s]}\n", strings.Join(names, ", "))
	b.WriteString(extra)
	return b.String()
}

// startWSGateway starts rpcgate on wsConfig.
func startWSGateway(t testing.TB, nodes []*Anvil, withWS map[string]bool, extra string) *Gateway {
	t.Helper()
	c := &ConfigFile{Path: t.TempDir() + "/rpcgate.yaml", Token: "e2e-token"}
	c.WriteRaw(t, wsConfig(nodes, withWS, extra))
	return c.Start(t)
}

// WSURL is the gateway's WebSocket endpoint for chain eth.
func (g *Gateway) WSURL() string { return strings.Replace(g.URL, "http://", "ws://", 1) }

// blockClock mines one identical block per tick on every live node of
// the fleet (standing in for a chain producing a block a second), until
// stopped. Before each block, hook (when set) may send transactions.
type blockClock struct {
	f      *Fleet
	every  time.Duration
	mu     sync.Mutex
	paused bool
	hook   func(n int)
	mined  int
	stop   chan struct{}
	done   chan struct{}
}

func startClock(t testing.TB, f *Fleet, every time.Duration) *blockClock {
	c := &blockClock{f: f, every: every, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	t.Cleanup(c.Stop)
	return c
}

func (c *blockClock) run() {
	defer close(c.done)
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		c.mu.Lock()
		if c.paused {
			c.mu.Unlock()
			continue
		}
		hook := c.hook
		n := c.mined
		c.mu.Unlock()
		if hook != nil {
			hook(n)
		}
		mineLive(c.f, nil)
		c.mu.Lock()
		c.mined++
		c.mu.Unlock()
	}
}

// Stop ends the clock and waits for its last block. Safe to call twice.
func (c *blockClock) Stop() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
}

func (c *blockClock) setHook(h func(n int)) {
	c.mu.Lock()
	c.hook = h
	c.mu.Unlock()
}

// mineLive mines one block on each live node (or the named ones),
// ignoring nodes that die meanwhile.
func mineLive(f *Fleet, names []string) {
	for _, a := range f.Nodes {
		if !a.Alive() || (names != nil && !hasName(names, a.Name)) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _ = a.Call(ctx, "anvil_mine", "0x1", hexUint(blockInterval))
		cancel()
	}
}

func hasName(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// sendEmit sends an emitter call with payload to every live node (gossip);
// nonce is the dev account's next nonce, kept by the caller.
func sendEmit(t testing.TB, f *Fleet, nonce uint64, payload []byte) *types.Transaction {
	to := emitterAddress
	tx := types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(chainID), Nonce: nonce, GasTipCap: big.NewInt(1_000_000_000),
		GasFeeCap: big.NewInt(100_000_000_000), Gas: 200_000, To: &to, Value: big.NewInt(0), Data: payload})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(big.NewInt(chainID)), devKey(t))
	if err != nil {
		t.Errorf("sign: %v", err)
		return nil
	}
	raw, _ := signed.MarshalBinary()
	hexTx := "0x" + common.Bytes2Hex(raw)
	for _, a := range f.Nodes {
		if a.Alive() {
			_, _ = a.Call(context.Background(), "eth_sendRawTransaction", hexTx)
		}
	}
	return signed
}

// metric reads one sample of the gateway's /metrics (0 when absent); name
// may carry a label selector, e.g. `x{chain="eth"}`.
func (g *Gateway) metric(t testing.TB, name string) float64 {
	t.Helper()
	_, body := g.Admin(t, "GET", "/metrics", nil)
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` ([0-9.e+-]+)$`)
	m := re.FindSubmatch(body)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// metricNoFail is metric for goroutines other than the test's: -1 when
// /metrics cannot be read.
func (g *Gateway) metricNoFail(name string) float64 {
	req, _ := http.NewRequest("GET", g.AdminURL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+g.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` ([0-9.e+-]+)$`).FindSubmatch(body)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// rssKB is the process's resident set (VmRSS, KiB).
func (g *Gateway) rssKB(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no VmRSS")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// dialWS opens an ethclient on the gateway's WebSocket endpoint.
func dialWS(t testing.TB, g *Gateway) *ethclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ethclient.DialContext(ctx, g.WSURL())
	if err != nil {
		t.Fatalf("dial %s: %v", g.WSURL(), err)
	}
	t.Cleanup(c.Close)
	return c
}

// requireConsecutive checks that nums is strictly consecutive: every
// block number exactly once, in order.
func requireConsecutive(t testing.TB, what string, nums []uint64) {
	t.Helper()
	for i := 1; i < len(nums); i++ {
		if nums[i] != nums[i-1]+1 {
			t.Fatalf("%s: got %v: not every number exactly once in order (at %d: %d after %d)", what, nums, i, nums[i], nums[i-1])
		}
	}
	if !sort.SliceIsSorted(nums, func(i, j int) bool { return nums[i] < nums[j] }) {
		t.Fatalf("%s: out of order: %v", what, nums)
	}
}

// startMiner starts one anvil that mines a block every second on its own
// (--block-time 1), stopped at cleanup.
func startMiner(t testing.TB, name string) *Anvil {
	t.Helper()
	a := &Anvil{Name: name, bin: anvilPath(t), blockTime: 1, out: &syncBuffer{}}
	t.Cleanup(func() {
		a.Kill()
		if t.Failed() && a.out.Len() > 0 {
			t.Logf("anvil %s output:\n%s", a.Name, a.out.String())
		}
	})
	if err := a.start(0); err != nil {
		t.Fatalf("start anvil %s: %v", name, err)
	}
	return a
}
