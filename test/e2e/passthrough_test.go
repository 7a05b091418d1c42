package e2e

import (
	"bytes"
	"context"
	"math/big"
	"net/http"
	"testing"
)

// A single call's answer is the node's own bytes (docs/decisions.md 4):
// nothing is decoded and re-encoded on the way back.

func TestSingleAnswerIsNodeBytes(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b")
	direct := dial(t, f.Node("a").URL)
	// Block 1 holds a transaction, so the full-transaction form has nested
	// objects, big numbers and empty lists to re-encode differently.
	tx := signTx(t, direct, otherAddress, big.NewInt(1), []byte("payload"))
	f.BroadcastRaw(rawTx(t, tx))
	f.Mine(1)
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{})

	// A string id with an escape and odd spacing: the node echoes it as it
	// likes, and the gateway must pass that on unchanged.
	body := []byte(`{"jsonrpc":"2.0", "id":"q\u002d1", "method":"eth_getBlockByNumber","params":["0x1", true]}`)
	want := map[string][]byte{}
	for _, a := range f.Nodes {
		status, data, err := rawRequest(a.URL, http.MethodPost, string(body))
		if err != nil || status != http.StatusOK {
			t.Fatalf("direct to %s: HTTP %d %v", a.Name, status, err)
		}
		want[a.Name] = data
	}
	if !bytes.Equal(want["a"], want["b"]) {
		t.Fatalf("fixture: a and b answer differently:\n%s\n%s", want["a"], want["b"])
	}
	if r := parseResponse(t, want["a"]); r.Error != nil || !bytes.Contains(r.Result, []byte(tx.Hash().Hex()[2:])) {
		t.Fatalf("fixture: block 1 does not hold the transaction: %s", clip(want["a"]))
	}

	for i := 0; i < 10; i++ { // either node may answer: their bytes are equal
		status, _, got := g.post(context.Background(), "/eth", body)
		if status != http.StatusOK {
			t.Fatalf("via gateway: HTTP %d %s", status, got)
		}
		if !bytes.Equal(got, want["a"]) {
			t.Fatalf("call %d: gateway answer differs from the node's bytes\ngateway: %s\nnode:    %s", i, got, want["a"])
		}
	}
}
