package e2e

import (
	"context"
	"math/big"
	"testing"
)

// These tests check the harness itself (no gateway involved): if they fail,
// every other result in this package is suspect.

func TestHarnessFleetIdentical(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c") // checks identical genesis
	f.Mine(5)                         // checks identical blocks 0..5

	// A lagging node catches up with the very same blocks.
	f.Mine(4, "a", "b")
	if h, _ := f.Node("c").Head(); h != 5 {
		t.Fatalf("c head = %d, want 5 (it was not mined)", h)
	}
	f.Mine(4, "c")
	f.RequireIdentical()

	// A transaction gossiped to every node lands in identical blocks.
	direct := dial(t, f.Node("a").URL)
	tx := signTx(t, direct, otherAddress, big.NewInt(1), nil)
	f.BroadcastRaw(rawTx(t, tx))
	f.BroadcastRaw(rawTx(t, tx)) // gossip repeats; "already known" is fine
	f.Mine(1)
	r, err := direct.TransactionReceipt(context.Background(), tx.Hash())
	if err != nil || r.BlockNumber.Uint64() != 10 {
		t.Fatalf("receipt on a: %v %v", r, err)
	}

	// Kill really kills; Restart gives a fresh genesis on the same URL.
	c := f.Node("c")
	url := c.URL
	f.Kill("c")
	if c.Alive() {
		t.Fatal("c alive after Kill")
	}
	if _, err := c.Head(); err == nil {
		t.Fatal("c answered after Kill")
	}
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	if h, err := c.Head(); err != nil || h != 0 || c.URL != url {
		t.Fatalf("restarted c: head %d err %v url %s (was %s)", h, err, c.URL, url)
	}
	f.Mine(9, "c")
	hc, _ := c.BlockHash(9)
	ha, _ := f.Node("a").BlockHash(9)
	if hc != ha {
		t.Fatalf("restarted c re-mined block 9 as %s, a has %s", hc, ha)
	}
}

func TestHarnessProxyCounts(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a")
	p := StartProxy(t, "a", f.Node("a").URL)

	post := func(body string) rpcReply { return send(p.URL, nil, []byte(body)) }
	if r := post(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}`); r.Status != 200 {
		t.Fatalf("single via proxy: %v", r)
	}
	if r := post(`[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"eth_blockNumber"},{"jsonrpc":"2.0","id":3,"method":"eth_chainId"}]`); r.Status == 0 {
		t.Fatalf("batch via proxy: %v", r.Err)
	}
	if got := p.Count("eth_chainId"); got != 3 {
		t.Fatalf("eth_chainId count = %d, want 3 (%v)", got, p.Counts())
	}
	if got := p.Count("eth_blockNumber"); got != 1 {
		t.Fatalf("eth_blockNumber count = %d, want 1", got)
	}
	p.Reset()
	if p.Total() != 0 {
		t.Fatalf("after Reset: %v", p.Counts())
	}

	// A dead node behind the proxy: the client sees a dropped connection.
	f.Kill("a")
	if r := post(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`); r.Status != 0 {
		t.Fatalf("dead node answered through proxy: HTTP %d", r.Status)
	}
	if p.Count("eth_chainId") != 1 {
		t.Fatalf("request to dead node not counted: %v", p.Counts())
	}
}
