package e2e

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
)

// Chain fixtures shared by the tests: the mnemonic's first account and two
// tiny contracts installed with anvil_setCode (no compiler needed).

var (
	// Account 0 of testMnemonic (m/44'/60'/0'/0/0), funded by anvil.
	devKeyHex  = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
	devAddress = common.HexToAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
	// Account 1, a plain recipient.
	otherAddress = common.HexToAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")

	constAddress   = common.HexToAddress("0x00000000000000000000000000000000c0ffee01")
	emitterAddress = common.HexToAddress("0x00000000000000000000000000000000c0ffee02")

	constWord  = common.HexToHash("0x1111111111111111111111111111111111111111111111111111111111111111")
	eventTopic = common.HexToHash("0x2222222222222222222222222222222222222222222222222222222222222222")
)

// constCode returns constWord from any call:
// PUSH32 word, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN.
func constCode() []byte {
	code := append([]byte{0x7f}, constWord.Bytes()...)
	return append(code, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3)
}

// emitterCode logs its calldata under eventTopic:
// CALLDATASIZE, PUSH1 0, PUSH1 0, CALLDATACOPY,
// PUSH32 topic, CALLDATASIZE, PUSH1 0, LOG1, STOP.
func emitterCode() []byte {
	code := []byte{0x36, 0x60, 0x00, 0x60, 0x00, 0x37, 0x7f}
	code = append(code, eventTopic.Bytes()...)
	return append(code, 0x36, 0x60, 0x00, 0xa1, 0x00)
}

// installContracts puts both contracts on every live node, identically.
func installContracts(f *Fleet) {
	f.Do("anvil_setCode", []any{constAddress.Hex(), hexBytes(constCode())})
	f.Do("anvil_setCode", []any{emitterAddress.Hex(), hexBytes(emitterCode())})
}

func devKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.HexToECDSA(devKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	if got := crypto.PubkeyToAddress(k.PublicKey); got != devAddress {
		t.Fatalf("dev key is for %s, want %s", got, devAddress)
	}
	return k
}

// signTx signs an EIP-1559 transaction from the dev account. The nonce comes
// from the node given (direct, so the gateway is not involved in setup).
func signTx(t testing.TB, direct *ethclient.Client, to common.Address, value *big.Int, data []byte) *types.Transaction {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nonce, err := direct.PendingNonceAt(ctx, devAddress)
	if err != nil {
		t.Fatalf("nonce: %v", err)
	}
	tx := types.NewTx(&types.DynamicFeeTx{
		ChainID:   big.NewInt(chainID),
		Nonce:     nonce,
		GasTipCap: big.NewInt(1_000_000_000),
		GasFeeCap: big.NewInt(100_000_000_000),
		Gas:       200_000,
		To:        &to,
		Value:     value,
		Data:      data,
	})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(big.NewInt(chainID)), devKey(t))
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return signed
}

// rawTx is the transaction's wire encoding, for BroadcastRaw.
func rawTx(t testing.TB, tx *types.Transaction) []byte {
	t.Helper()
	b, err := tx.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dial opens an ethclient, closed at cleanup.
func dial(t testing.TB, url string) *ethclient.Client {
	t.Helper()
	c, err := ethclient.Dial(url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(c.Close)
	return c
}

func hexBytes(b []byte) string { return "0x" + common.Bytes2Hex(b) }

// emitLogs sends one emitter call per payload to every node (as gossip would)
// and mines each into its own identical block. It returns the transactions.
func emitLogs(t testing.TB, f *Fleet, direct *ethclient.Client, payloads ...[]byte) []*types.Transaction {
	t.Helper()
	var txs []*types.Transaction
	for _, p := range payloads {
		tx := signTx(t, direct, emitterAddress, big.NewInt(0), p)
		f.BroadcastRaw(rawTx(t, tx))
		f.Mine(1)
		r, err := direct.TransactionReceipt(context.Background(), tx.Hash())
		if err != nil || r.Status != types.ReceiptStatusSuccessful || len(r.Logs) != 1 {
			t.Fatalf("emitter tx %s: receipt %+v, %v", tx.Hash(), r, err)
		}
		txs = append(txs, tx)
	}
	return txs
}
