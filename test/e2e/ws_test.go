package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// go-ethereum's ethclient subscribes to newHeads and logs through the
// gateway's WebSocket endpoint; heads match the nodes' blocks (geth's
// header format: the hash ethclient computes from the fields is the
// node's) and logs arrive in order.
func TestWSEthclientNewHeadsAndLogs(t *testing.T) {
	f := StartFleet(t, "a", "b")
	installContracts(f)
	g := startWSGateway(t, f.Nodes, map[string]bool{"a": true}, "")
	c := dialWS(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	heads := make(chan *types.Header, 64)
	hs, err := c.SubscribeNewHead(ctx, heads)
	if err != nil {
		t.Fatalf("SubscribeNewHead: %v", err)
	}
	defer hs.Unsubscribe()
	logs := make(chan types.Log, 64)
	ls, err := c.SubscribeFilterLogs(ctx, ethereum.FilterQuery{Addresses: []common.Address{emitterAddress}, Topics: [][]common.Hash{{eventTopic}}}, logs)
	if err != nil {
		t.Fatalf("SubscribeFilterLogs: %v", err)
	}
	defer ls.Unsubscribe()

	clock := startClock(t, f, 500*time.Millisecond)
	nonce := uint64(0)
	clock.setHook(func(n int) {
		sendEmit(t, f, nonce, payload(n))
		nonce++
	})
	var nums []uint64
	var got []types.Log
	for len(nums) < 6 || len(got) < 5 {
		select {
		case h := <-heads:
			nums = append(nums, h.Number.Uint64())
			// The head is a node's block (whichever node has mined it yet).
			for _, a := range f.Nodes {
				if have, err := a.BlockHash(h.Number.Uint64()); err == nil && have != "" && have != h.Hash().Hex() {
					t.Fatalf("head %d: hash %s, node %s has %s", h.Number, h.Hash().Hex(), a.Name, have)
				}
			}
		case l := <-logs:
			got = append(got, l)
		case err := <-hs.Err():
			t.Fatalf("newHeads subscription failed: %v", err)
		case err := <-ls.Err():
			t.Fatalf("logs subscription failed: %v", err)
		case <-ctx.Done():
			t.Fatalf("timed out: %d heads, %d logs", len(nums), len(got))
		}
	}
	clock.Stop()
	requireConsecutive(t, "newHeads", nums)
	for i, l := range got {
		if l.Address != emitterAddress || len(l.Topics) != 1 || l.Topics[0] != eventTopic || l.Removed {
			t.Fatalf("log %d: %+v", i, l)
		}
		if i > 0 && binary.BigEndian.Uint64(l.Data) != binary.BigEndian.Uint64(got[i-1].Data)+1 {
			t.Fatalf("logs out of order or missing: %d after %d", binary.BigEndian.Uint64(l.Data), binary.BigEndian.Uint64(got[i-1].Data))
		}
	}
}

// payload is the emitter call data for block n: n as 8 bytes.
func payload(n int) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	return b[:]
}

// Node dies mid-stream: the node the gateway follows (the only one with a
// ws URL, and the first) is killed. Across the failover the subscriber
// receives every block number exactly once, in order.
func TestWSNodeDiesMidStream(t *testing.T) {
	f := StartFleet(t, "a", "b", "c")
	g := startWSGateway(t, f.Nodes, map[string]bool{"a": true}, "")
	c := dialWS(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	heads := make(chan *types.Header, 64)
	hs, err := c.SubscribeNewHead(ctx, heads)
	if err != nil {
		t.Fatalf("SubscribeNewHead: %v", err)
	}
	defer hs.Unsubscribe()
	clock := startClock(t, f, 400*time.Millisecond)
	var nums []uint64
	killedAt := uint64(0)
	for len(nums) < 16 {
		select {
		case h := <-heads:
			nums = append(nums, h.Number.Uint64())
			if len(nums) == 5 {
				f.Kill("a")
				killedAt = h.Number.Uint64()
			}
		case err := <-hs.Err():
			t.Fatalf("subscription failed: %v", err)
		case <-ctx.Done():
			t.Fatalf("timed out with heads %v", nums)
		}
	}
	clock.Stop()
	requireConsecutive(t, "newHeads across the death of node a", nums)
	if nums[len(nums)-1] < killedAt+5 {
		t.Fatalf("too few heads after the kill at %d: %v", killedAt, nums)
	}
}

// Logs across failover: a log in every block for 30 blocks while node a
// is killed (block 10) and started again, empty (block 20). The logs
// subscriber receives every log exactly once, in order.
func TestWSLogsAcrossFailover(t *testing.T) {
	f := StartFleet(t, "a", "b")
	installContracts(f)
	g := startWSGateway(t, f.Nodes, map[string]bool{"a": true, "b": true}, "")
	c := dialWS(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	logs := make(chan types.Log, 64)
	ls, err := c.SubscribeFilterLogs(ctx, ethereum.FilterQuery{Addresses: []common.Address{emitterAddress}}, logs)
	if err != nil {
		t.Fatalf("SubscribeFilterLogs: %v", err)
	}
	defer ls.Unsubscribe()
	clock := startClock(t, f, 400*time.Millisecond)
	nonce := uint64(0)
	clock.setHook(func(n int) {
		switch n {
		case 10:
			f.Kill("a")
		case 20:
			_ = f.Node("a").Restart() // a fresh node at genesis: far behind, never followed
		}
		if n < 30 {
			sendEmit(t, f, nonce, payload(n))
			nonce++
		}
	})
	var got []uint64
	for len(got) < 30 {
		select {
		case l := <-logs:
			if l.Removed {
				t.Fatalf("unexpected removed log %+v", l)
			}
			got = append(got, binary.BigEndian.Uint64(l.Data))
		case err := <-ls.Err():
			t.Fatalf("subscription failed: %v", err)
		case <-ctx.Done():
			t.Fatalf("timed out with logs %v", got)
		}
	}
	clock.Stop()
	for i, v := range got {
		if v != uint64(i) {
			t.Fatalf("logs %v: want 0..29 exactly once, in order", got)
		}
	}
	// Nothing more arrives (no duplicate after the last).
	select {
	case l := <-logs:
		t.Fatalf("extra log after the 30th: %+v", l)
	case <-time.After(500 * time.Millisecond):
	}
}

// Reorg: nodes a and b share history, then diverge (a different
// transaction mined on each); the subscriber first sees a's block, then
// b's fork grows longer. Like geth's own subscriptions, it receives the
// new canonical heads from the fork point and a's log again with
// removed: true before b's logs.
func TestWSReorg(t *testing.T) {
	f := StartFleet(t, "a", "b")
	installContracts(f)
	f.Mine(2)
	g := startWSGateway(t, f.Nodes, map[string]bool{"a": true, "b": true}, "")
	c := dialWS(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	heads := make(chan *types.Header, 64)
	hs, err := c.SubscribeNewHead(ctx, heads)
	if err != nil {
		t.Fatal(err)
	}
	defer hs.Unsubscribe()
	logs := make(chan types.Log, 64)
	ls, err := c.SubscribeFilterLogs(ctx, ethereum.FilterQuery{Addresses: []common.Address{emitterAddress}}, logs)
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Unsubscribe()
	base, _ := f.Node("a").Head()

	next := func() *types.Header {
		select {
		case h := <-heads:
			return h
		case <-ctx.Done():
			t.Fatal("timed out waiting for a head")
		}
		return nil
	}
	nextLog := func() types.Log {
		select {
		case l := <-logs:
			return l
		case <-ctx.Done():
			t.Fatal("timed out waiting for a log")
		}
		return types.Log{}
	}
	// Fork A: one block on a with payload "A".
	txA := signRaw(t, 0, []byte("A"))
	if _, err := f.Node("a").Call(ctx, "eth_sendRawTransaction", txA); err != nil {
		t.Fatal(err)
	}
	mineLive(f, []string{"a"})
	hA := next()
	if hA.Number.Uint64() != base+1 {
		t.Fatalf("first head %d, want %d", hA.Number, base+1)
	}
	if l := nextLog(); l.Removed || !bytes.Equal(l.Data, []byte("A")) {
		t.Fatalf("fork A log: %+v", l)
	}
	// Fork B: a different transaction at the same height, then two more
	// blocks: b's chain is longer.
	txB := signRaw(t, 0, []byte("B"))
	if _, err := f.Node("b").Call(ctx, "eth_sendRawTransaction", txB); err != nil {
		t.Fatal(err)
	}
	mineLive(f, []string{"b"})
	mineLive(f, []string{"b"})
	mineLive(f, []string{"b"})
	var nums []uint64
	for len(nums) < 3 {
		h := next()
		nums = append(nums, h.Number.Uint64())
		want, _ := f.Node("b").BlockHash(h.Number.Uint64())
		if h.Hash().Hex() != want {
			t.Fatalf("head %d is %s, b's canonical block is %s", h.Number, h.Hash().Hex(), want)
		}
	}
	if nums[0] != base+1 || nums[2] != base+3 {
		t.Fatalf("reorged heads %v, want %d..%d from the fork point", nums, base+1, base+3)
	}
	if hA.Hash() == mustHash(t, f.Node("b"), base+1) {
		t.Fatal("forks did not diverge")
	}
	removed := nextLog()
	if !removed.Removed || !bytes.Equal(removed.Data, []byte("A")) || removed.BlockHash != hA.Hash() {
		t.Fatalf("want a's log again with removed: true, got %+v", removed)
	}
	added := nextLog()
	if added.Removed || !bytes.Equal(added.Data, []byte("B")) {
		t.Fatalf("want b's log, got %+v", added)
	}
	if n := g.metric(t, `rpcgate_feed_reorgs_total{chain="eth"}`); n < 1 {
		t.Fatalf("rpcgate_feed_reorgs_total = %v, want ≥ 1", n)
	}
}

func mustHash(t testing.TB, a *Anvil, n uint64) common.Hash {
	h, err := a.BlockHash(n)
	if err != nil {
		t.Fatal(err)
	}
	return common.HexToHash(h)
}

// signRaw signs an emitter call with nonce and data, hex-encoded.
func signRaw(t testing.TB, nonce uint64, data []byte) string {
	to := emitterAddress
	tx := types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(chainID), Nonce: nonce, GasTipCap: big.NewInt(1_000_000_000),
		GasFeeCap: big.NewInt(100_000_000_000), Gas: 200_000, To: &to, Value: big.NewInt(0), Data: data})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(big.NewInt(chainID)), devKey(t))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := signed.MarshalBinary()
	return "0x" + common.Bytes2Hex(raw)
}

// A node mining on its own with --block-time 1, followed over its own
// WebSocket: ethclient's newHeads subscription through rpcgate gets every
// block, consecutively, with the node's hashes.
func TestWSBlockTimeNode(t *testing.T) {
	a := startMiner(t, "a")
	g := startWSGateway(t, []*Anvil{a}, map[string]bool{"a": true}, "")
	c := dialWS(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	heads := make(chan *types.Header, 16)
	sub, err := c.SubscribeNewHead(ctx, heads)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	var nums []uint64
	for len(nums) < 4 {
		select {
		case h := <-heads:
			nums = append(nums, h.Number.Uint64())
			if want, _ := a.BlockHash(h.Number.Uint64()); want != h.Hash().Hex() {
				t.Fatalf("head %d: %s, node has %s", h.Number, h.Hash().Hex(), want)
			}
		case err := <-sub.Err():
			t.Fatal(err)
		case <-ctx.Done():
			t.Fatalf("timed out with heads %v", nums)
		}
	}
	requireConsecutive(t, "newHeads from a --block-time 1 node", nums)
}
