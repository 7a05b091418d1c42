package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// TestEthclientParity: a real client (go-ethereum's ethclient) gets the same
// answers through the gateway as from a node directly.
func TestEthclientParity(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	f.Mine(3)
	installContracts(f)
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{})
	gw := dial(t, g.URL)
	direct := dial(t, f.Node("a").URL)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("BlockNumber", func(t *testing.T) {
		a, errA := gw.BlockNumber(ctx)
		b, errB := direct.BlockNumber(ctx)
		if errA != nil || errB != nil || a != b {
			t.Fatalf("gateway %d (%v), direct %d (%v)", a, errA, b, errB)
		}
	})
	t.Run("BlockByNumber", func(t *testing.T) {
		for _, n := range []*big.Int{nil, big.NewInt(0), big.NewInt(2)} {
			a, errA := gw.BlockByNumber(ctx, n)
			b, errB := direct.BlockByNumber(ctx, n)
			if errA != nil || errB != nil {
				t.Fatalf("block %v: gateway %v, direct %v", n, errA, errB)
			}
			if a.Hash() != b.Hash() {
				t.Fatalf("block %v: gateway hash %s, direct %s", n, a.Hash(), b.Hash())
			}
		}
	})
	t.Run("BalanceAt", func(t *testing.T) {
		a, errA := gw.BalanceAt(ctx, devAddress, nil)
		b, errB := direct.BalanceAt(ctx, devAddress, nil)
		if errA != nil || errB != nil || a.Cmp(b) != 0 || a.Sign() == 0 {
			t.Fatalf("gateway %v (%v), direct %v (%v)", a, errA, b, errB)
		}
	})
	t.Run("CallContract", func(t *testing.T) {
		msg := ethereum.CallMsg{From: devAddress, To: &constAddress}
		a, errA := gw.CallContract(ctx, msg, nil)
		b, errB := direct.CallContract(ctx, msg, nil)
		if errA != nil || errB != nil {
			t.Fatalf("gateway %v, direct %v", errA, errB)
		}
		if common.BytesToHash(a) != constWord || string(a) != string(b) {
			t.Fatalf("gateway %x, direct %x, want %s", a, b, constWord)
		}
	})
	t.Run("FilterLogs", func(t *testing.T) {
		emitLogs(t, f, direct, []byte("hello"), []byte("world"))
		q := ethereum.FilterQuery{FromBlock: big.NewInt(0), Addresses: []common.Address{emitterAddress}}
		a, errA := gw.FilterLogs(ctx, q)
		b, errB := direct.FilterLogs(ctx, q)
		if errA != nil || errB != nil {
			t.Fatalf("gateway %v, direct %v", errA, errB)
		}
		if len(b) != 2 {
			t.Fatalf("fixture: direct node has %d logs, want 2", len(b))
		}
		if jsonOf(t, a) != jsonOf(t, b) {
			t.Fatalf("gateway logs %s\ndirect logs %s", jsonOf(t, a), jsonOf(t, b))
		}
	})
	t.Run("SendTransaction", func(t *testing.T) {
		tx := signTx(t, direct, otherAddress, big.NewInt(12345), nil)
		if err := gw.SendTransaction(ctx, tx); err != nil {
			t.Fatalf("send via gateway: %v", err)
		}
		sent := 0
		for _, p := range ps {
			sent += p.Count("eth_sendRawTransaction")
		}
		if sent == 0 {
			t.Fatal("no node saw eth_sendRawTransaction")
		}
		f.BroadcastRaw(rawTx(t, tx)) // gossip to the nodes the gateway did not use
		f.Mine(1)

		var viaGW *types.Receipt
		eventually(t, 30*time.Second, "the receipt via the gateway", func() (bool, string) {
			r, err := gw.TransactionReceipt(ctx, tx.Hash())
			if err != nil {
				return false, err.Error()
			}
			viaGW = r
			return true, ""
		})
		want, err := direct.TransactionReceipt(ctx, tx.Hash())
		if err != nil {
			t.Fatalf("direct receipt: %v", err)
		}
		if want.Status != types.ReceiptStatusSuccessful {
			t.Fatalf("tx failed: %+v", want)
		}
		if jsonOf(t, viaGW) != jsonOf(t, want) {
			t.Fatalf("receipt via gateway %s\ndirect %s", jsonOf(t, viaGW), jsonOf(t, want))
		}
		got, err := gw.BalanceAt(ctx, otherAddress, nil)
		if err != nil {
			t.Fatal(err)
		}
		before, err := direct.BalanceAt(ctx, otherAddress, new(big.Int).Sub(want.BlockNumber, big.NewInt(1)))
		if err != nil {
			t.Fatal(err)
		}
		if new(big.Int).Sub(got, before).Cmp(big.NewInt(12345)) != 0 {
			t.Fatalf("recipient balance %v, was %v, want +12345", got, before)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		// A missing receipt is "not found" through the gateway too, not an error.
		_, err := gw.TransactionReceipt(ctx, common.HexToHash("0x01"))
		if !errors.Is(err, ethereum.NotFound) {
			t.Fatalf("receipt of unknown tx: %v, want ethereum.NotFound", err)
		}
	})
}

func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(fmt.Errorf("marshal %T: %w", v, err))
	}
	return string(b)
}
