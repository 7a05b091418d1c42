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
	// Long attempt timeouts: a read pinned to the write's node moves on to
	// the whole group after an attempt timeout (availability first), and
	// under the race detector with the whole suite running a 500 ms timeout
	// fired now and then; this test is about the pin, not about timeouts.
	opts := GatewayOpts{ChainExtra: "    attempt_timeout: {min: 4s, max: 5s}\n"}
	g := WriteConfigFile(t, StartProxies(t, f), opts, extra).Start(t)
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

// TestSessionSubsets: 20 clients (X-Session-Id) on 4 nodes with
// sessions.size 2: each client's reads reach only its subset (counted at
// the nodes' proxies), no node serves more than 1.5x the mean number of
// sessions, and at the epoch boundary the subsets change.
func TestSessionSubsets(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c", "d")
	ps := StartProxies(t, f)
	const epoch = 3 * time.Second
	g := WriteConfigFile(t, ps, GatewayOpts{}, fmt.Sprintf("sessions:\n  size: 2\n  epoch: %s\n", epoch)).Start(t)
	const clients, size = 20, 2
	// observe sends 10 reads as client k and returns the nodes that saw them.
	observe := func(k int) map[string]bool {
		ResetAll(ps)
		hdr := http.Header{"X-Session-Id": {fmt.Sprintf("client-%d", k)}}
		for i := 0; i < 10; i++ {
			var bal string
			if err := gatewayCallHeader(g, hdr, &bal, "eth_getBalance", devAddress.Hex(), "latest"); err != nil {
				t.Fatal(err)
			}
		}
		seen := map[string]bool{}
		for name, p := range ps {
			if p.Count("eth_getBalance") > 0 {
				seen[name] = true
			}
		}
		return seen
	}
	// round observes every client within one epoch (retrying a round that
	// straddles a boundary) and returns the epoch and what each saw.
	round := func() (uint64, []map[string]bool) {
		for {
			e := uint64(time.Now().UnixNano() / int64(epoch))
			var seen []map[string]bool
			for k := 0; k < clients; k++ {
				seen = append(seen, observe(k))
			}
			if uint64(time.Now().UnixNano()/int64(epoch)) == e {
				return e, seen
			}
		}
	}
	e1, first := round()
	load := map[string]int{}
	for k, seen := range first {
		if len(seen) == 0 || len(seen) > size {
			t.Errorf("client %d's reads reached %d nodes %v, want 1..%d (its subset)", k, len(seen), seen, size)
		}
		for n := range seen {
			load[n]++
		}
	}
	mean := float64(clients*size) / float64(len(ps))
	for n, l := range load {
		if float64(l) > 1.5*mean {
			t.Errorf("node %s serves %d sessions, more than 1.5 x the mean %.1f: %v", n, l, mean, load)
		}
	}
	// The next epoch: wait for its start (no assertion on time), then look again.
	for uint64(time.Now().UnixNano()/int64(epoch)) == e1 {
		time.Sleep(50 * time.Millisecond)
	}
	_, second := round()
	changed := 0
	for k := range first {
		for n := range second[k] {
			if !first[k][n] {
				changed++
				break
			}
		}
	}
	t.Logf("epoch 1 loads %v; %d of %d clients reached a node outside their first subset in a later epoch", load, changed, clients)
	if changed == 0 {
		t.Error("no client's subset changed at the epoch boundary")
	}
}
