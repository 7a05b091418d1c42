package e2e

import (
	"context"
	"fmt"
	"math/big"
	"testing"
	"time"
)

// A node is admitted only after eth_chainId matches the chain: one pointed
// at another network is never sent client traffic.

func TestWrongChainNodeNeverUsed(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	f.Mine(2)
	d := StartForeignAnvil(t, "d", 999)
	if _, err := d.Call(context.Background(), "anvil_mine", hexUint(2), hexUint(blockInterval)); err != nil {
		t.Fatal(err) // the same height as the fleet: only the chain id tells d apart
	}
	ps := StartProxies(t, f)
	ps["d"] = StartProxy(t, "d", d.URL)
	g := StartGateway(t, ps, GatewayOpts{}) // default group: a, b, c and d
	eventually(t, 30*time.Second, "a, b, c up and d wrong-chain", func() (bool, string) {
		ok, desc := allUp(t, g, "a", "b", "c")()
		wc, _ := g.Metric(t, "rpcgate_node_state", map[string]string{"chain": "eth", "node": "d", "state": "wrong-chain"})
		return ok && wc == 1, fmt.Sprintf("%s; rpcgate_node_state{node=d,state=wrong-chain}=%v", desc, wc)
	})

	gw := dial(t, g.URL)
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		var err error
		switch i % 4 {
		case 0:
			var id *big.Int
			if id, err = gw.ChainID(ctx); err == nil && id.Int64() != chainID {
				err = fmt.Errorf("eth_chainId = %v, want %d", id, chainID)
			}
		case 1:
			var n uint64
			if n, err = gw.BlockNumber(ctx); err == nil && n != 2 {
				err = fmt.Errorf("eth_blockNumber = %d, want 2", n)
			}
		case 2:
			var bal *big.Int
			if bal, err = gw.BalanceAt(ctx, devAddress, nil); err == nil && bal.Sign() <= 0 {
				err = fmt.Errorf("eth_getBalance = %v", bal)
			}
		default:
			want, _ := f.Node("a").BlockHash(1)
			b, berr := gw.HeaderByNumber(ctx, big.NewInt(1))
			if err = berr; err == nil && b.Hash().Hex() != want {
				err = fmt.Errorf("block 1 hash %s, want %s (d's block 1 differs)", b.Hash().Hex(), want)
			}
		}
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}

	counts := ps["d"].Counts()
	if counts["eth_chainId"] == 0 {
		t.Errorf("d was never checked with eth_chainId: %v", counts)
	}
	for m, n := range counts {
		if m != "eth_chainId" {
			t.Errorf("wrong-chain node d was sent %s %d times; want only eth_chainId (all: %v)", m, n, counts)
		}
	}
	if v, ok := g.Metric(t, "rpcgate_node_state", map[string]string{"chain": "eth", "node": "d", "state": "wrong-chain"}); !ok || v != 1 {
		t.Errorf(`rpcgate_node_state{node="d",state="wrong-chain"} = %v (present %v), want 1`, v, ok)
	}
	if v, _ := g.nodeMetric(t, "rpcgate_node_up", "d"); v != 0 {
		t.Errorf(`rpcgate_node_up{node="d"} = %v, want 0`, v)
	}
}
