package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// TestReadYourWrites: three anvils that do not gossip, each mining what it
// receives at once. A client sends a transaction through the gateway, then
// asks eth_getTransactionCount(pending) and eth_getTransactionReceipt 50
// times in a row: with read_your_writes every answer reflects its write;
// without sessions, some answers come from a node that never saw it.
func TestReadYourWrites(t *testing.T) {
	t.Parallel()
	on := rywStale(t, "sessions:\n  read_your_writes: 30s\n")
	if on != 0 {
		t.Errorf("with read_your_writes, %d of 100 answers did not reflect the client's own write", on)
	}
	off := rywStale(t, "")
	t.Logf("stale answers of 100: %d with read_your_writes, %d without sessions", on, off)
	if off == 0 {
		t.Errorf("without sessions every answer reflected the write: the contrast shows nothing (do the anvils gossip?)")
	}
}

// rywStale runs one write then 50 × (pending nonce, receipt) through a
// gateway with extra config, on a fresh fleet, and counts stale answers.
func rywStale(t *testing.T, extra string) int {
	t.Helper()
	f := StartFleet(t, "a", "b", "c")
	for _, a := range f.Nodes {
		if _, err := a.Call(context.Background(), "evm_setAutomine", true); err != nil {
			t.Fatal(err)
		}
	}
	g := WriteConfigFile(t, StartProxies(t, f), GatewayOpts{}, extra).Start(t)
	tx := signTx(t, dial(t, f.Node("a").URL), common.HexToAddress("0x00000000000000000000000000000000000000aa"), big.NewInt(1), nil)
	var hash string
	if err := gatewayCall(g, &hash, "eth_sendRawTransaction", hexBytes(rawTx(t, tx))); err != nil || hash != tx.Hash().Hex() {
		t.Fatalf("send: %v (hash %s)", err, hash)
	}
	stale := 0
	for i := 0; i < 50; i++ {
		var nonce string
		if err := gatewayCall(g, &nonce, "eth_getTransactionCount", devAddress.Hex(), "pending"); err != nil {
			t.Fatal(err)
		}
		if n, err := strconv.ParseUint(nonce, 0, 64); err != nil || n != tx.Nonce()+1 {
			stale++
		}
		var receipt json.RawMessage
		if err := gatewayCall(g, &receipt, "eth_getTransactionReceipt", hash); err != nil {
			t.Fatal(err)
		}
		if string(receipt) == "null" || len(receipt) == 0 {
			stale++
		}
	}
	return stale
}

// gatewayCall makes one call on chain eth and decodes its result.
func gatewayCall(g *Gateway, out any, method string, params ...any) error {
	return gatewayCallHeader(g, nil, out, method, params...)
}

func gatewayCallHeader(g *Gateway, hdr http.Header, out any, method string, params ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytesReader(rpcBody(method, params...)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var msg struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&msg); err != nil {
		return err
	}
	if msg.Error != nil {
		return fmt.Errorf("%s: %s", method, msg.Error)
	}
	return json.Unmarshal(msg.Result, out)
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
