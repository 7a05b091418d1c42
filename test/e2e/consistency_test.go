package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// A client sees one consistent chain through the gateway even though the
// nodes behind it are at different heights: eth_blockNumber never goes
// backwards, and a numbered block is asked only of nodes that have it.

func TestBlockNumberNeverGoesBackwards(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	f.Mine(3)
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{}) // max_lag: default 3
	eventually(t, 30*time.Second, "a, b and c up", allUp(t, g, "a", "b", "c"))
	gw := dial(t, g.URL)
	ctx := context.Background()

	f.Mine(2, "c") // c leads by 2: the best head, a and b still within max_lag
	cHead, err := f.Node("c").Head()
	if err != nil || cHead != 5 {
		t.Fatalf("c head %d, %v; want 5", cHead, err)
	}
	eventually(t, 30*time.Second, "eth_blockNumber via the gateway to reach c's head", func() (bool, string) {
		n, err := gw.BlockNumber(ctx)
		return err == nil && n == cHead, fmt.Sprintf("eth_blockNumber = %d, %v; want %d", n, err, cHead)
	})

	f.Kill("c") // the only node at the best head; a and b are at 3
	clampedBefore, _ := g.Metric(t, "rpcgate_block_number_clamped_total", map[string]string{"chain": "eth"})
	prev := cHead
	for i := 0; i < 200; i++ {
		n, err := gw.BlockNumber(ctx)
		if err != nil {
			t.Fatalf("read %d after c died: %v", i, err)
		}
		if n < prev {
			t.Fatalf("read %d: eth_blockNumber went backwards from %d to %d", i, prev, n)
		}
		if n < cHead {
			t.Fatalf("read %d: eth_blockNumber %d is below %d, already served", i, n, cHead)
		}
		prev = n
	}
	clamped, ok := g.Metric(t, "rpcgate_block_number_clamped_total", map[string]string{"chain": "eth"})
	if !ok || clamped <= clampedBefore {
		t.Errorf("rpcgate_block_number_clamped_total = %v (present %v), was %v: a and b answered 3 after 5 was served, so some answers must have been raised",
			clamped, ok, clampedBefore)
	}
	if n := ps["a"].Count("eth_blockNumber") + ps["b"].Count("eth_blockNumber"); n == 0 {
		t.Error("a and b never got eth_blockNumber")
	}
}

func TestBlockAboveNodeHeadNotSent(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	f.Mine(3)
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{}) // max_lag: default 3
	f.Mine(2, "a", "b")                     // c lags by 2: still selectable
	eventually(t, 30*time.Second, "heads a=b=5, c=3 and c up", func() (bool, string) {
		ha, _ := g.nodeMetric(t, "rpcgate_node_head", "a")
		hb, _ := g.nodeMetric(t, "rpcgate_node_head", "b")
		hc, _ := g.nodeMetric(t, "rpcgate_node_head", "c")
		upc, _ := g.nodeMetric(t, "rpcgate_node_up", "c")
		upa, _ := g.nodeMetric(t, "rpcgate_node_up", "a")
		upb, _ := g.nodeMetric(t, "rpcgate_node_up", "b")
		return ha == 5 && hb == 5 && hc == 3 && upa == 1 && upb == 1 && upc == 1,
			fmt.Sprintf("heads a=%v b=%v c=%v, up a=%v b=%v c=%v", ha, hb, hc, upa, upb, upc)
	})

	blockAt := func(num uint64) (string, error) {
		status, _, body := g.post(context.Background(), "/eth", rpcBody("eth_getBlockByNumber", hexUint(num), false))
		r := parseResponse(t, body)
		if status != http.StatusOK || r.Error != nil {
			return "", fmt.Errorf("HTTP %d %s", status, body)
		}
		if string(r.Result) == "null" {
			return "", fmt.Errorf("block %d is null", num)
		}
		var blk struct {
			Hash string `json:"hash"`
		}
		if err := json.Unmarshal(r.Result, &blk); err != nil {
			return "", err
		}
		return blk.Hash, nil
	}

	want5, err := f.Node("a").BlockHash(5)
	if err != nil || want5 == "" {
		t.Fatalf("direct block 5: %q, %v", want5, err)
	}
	ps["c"].Reset()
	for i := 0; i < 100; i++ {
		h, err := blockAt(5)
		if err != nil {
			t.Fatalf("eth_getBlockByNumber(0x5) %d: %v", i, err)
		}
		if h != want5 {
			t.Fatalf("eth_getBlockByNumber(0x5) %d: hash %s, want %s", i, h, want5)
		}
	}
	if n := ps["c"].Count("eth_getBlockByNumber"); n != 0 {
		t.Fatalf("c (head 3) was asked for block 5 %d times", n)
	}

	// Block 1 is on every node: c is not excluded from it.
	want1, err := f.Node("c").BlockHash(1)
	if err != nil || want1 == "" {
		t.Fatalf("direct block 1: %q, %v", want1, err)
	}
	read1 := func(i int) {
		t.Helper()
		h, err := blockAt(1)
		if err != nil {
			t.Fatalf("eth_getBlockByNumber(0x1) %d: %v", i, err)
		}
		if h != want1 {
			t.Fatalf("eth_getBlockByNumber(0x1) %d: hash %s, want %s", i, h, want1)
		}
	}
	// 100 calls, and more until c got one: P2C steers away from a node that
	// has lately been more than 1ms slower, which under the race detector c
	// may be for a while.
	i := 0
	for ; i < 100; i++ {
		read1(i)
	}
	eventually(t, 60*time.Second, "c (head 3, within max_lag) to serve eth_getBlockByNumber(0x1)", func() (bool, string) {
		read1(i)
		i++
		return ps["c"].Count("eth_getBlockByNumber") > 0, fmt.Sprintf("%d calls; a=%v b=%v c=%v", i, ps["a"].Counts(), ps["b"].Counts(), ps["c"].Counts())
	})
}
