package e2e

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/rpcgate/rpcgate/internal/redistest"
)

// rpc posts one call to the gateway and decodes its result into out; it
// returns the JSON-RPC error message, if any.
func (g *Gateway) rpc(t testing.TB, out any, method string, params ...any) string {
	t.Helper()
	status, _, body := g.post(context.Background(), "/eth", rpcBody(method, params...))
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("%s: status %d, body %q: %v", method, status, body, err)
	}
	if r.Error != nil {
		return r.Error.Message
	}
	if out != nil {
		if err := json.Unmarshal(r.Result, out); err != nil {
			t.Fatalf("%s: result %s: %v", method, r.Result, err)
		}
	}
	return ""
}

type filterLog struct {
	Data      string      `json:"data"`
	Removed   bool        `json:"removed"`
	BlockHash common.Hash `json:"blockHash"`
}

func logValue(t testing.TB, l filterLog) uint64 {
	b := common.FromHex(l.Data)
	if len(b) != 8 {
		t.Fatalf("log data %q", l.Data)
	}
	return binary.BigEndian.Uint64(b)
}

// Filters are held by the gateway: a logs filter and a block filter
// created over HTTP on a gateway with three nodes keep working while one
// node is killed; the logs filter reports every log exactly once, in
// order, and the block filter every block exactly once.
func TestFiltersSurviveNodeLoss(t *testing.T) {
	f := StartFleet(t, "a", "b", "c")
	installContracts(f)
	g := startWSGateway(t, f.Nodes, nil, "")
	var logsID, blocksID string
	if msg := g.rpc(t, &logsID, "eth_newFilter", map[string]any{"address": emitterAddress.Hex()}); msg != "" {
		t.Fatalf("eth_newFilter: %s", msg)
	}
	if msg := g.rpc(t, &blocksID, "eth_newBlockFilter"); msg != "" {
		t.Fatalf("eth_newBlockFilter: %s", msg)
	}
	if len(logsID) != 34 || !strings.HasPrefix(logsID, "0x") {
		t.Fatalf("filter id %q is not 16 bytes of hex like geth's", logsID)
	}
	clock := startClock(t, f, 300*time.Millisecond)
	nonce := uint64(0)
	clock.setHook(func(n int) {
		if n == 8 {
			f.Kill("a")
		}
		if n < 20 {
			sendEmit(t, f, nonce, payload(n))
			nonce++
		}
	})
	var got []uint64
	seen := map[common.Hash]bool{}
	deadline := time.Now().Add(90 * time.Second)
	for len(got) < 20 && time.Now().Before(deadline) {
		var logs []filterLog
		if msg := g.rpc(t, &logs, "eth_getFilterChanges", logsID); msg != "" {
			t.Fatalf("eth_getFilterChanges (logs): %s", msg)
		}
		for _, l := range logs {
			if l.Removed {
				t.Fatalf("removed log without a reorg: %+v", l)
			}
			got = append(got, logValue(t, l))
		}
		var hashes []common.Hash
		if msg := g.rpc(t, &hashes, "eth_getFilterChanges", blocksID); msg != "" {
			t.Fatalf("eth_getFilterChanges (blocks): %s", msg)
		}
		for _, h := range hashes {
			if seen[h] {
				t.Fatalf("block %s reported twice", h)
			}
			seen[h] = true
		}
		time.Sleep(250 * time.Millisecond)
	}
	clock.Stop()
	if len(got) != 20 {
		t.Fatalf("got logs %v, want 0..19", got)
	}
	for i, v := range got {
		if v != uint64(i) {
			t.Fatalf("logs %v: want 0..19 exactly once, in order", got)
		}
	}
	if len(seen) < 20 {
		t.Fatalf("block filter reported %d blocks, want ≥ 20", len(seen))
	}
	var ok bool
	if msg := g.rpc(t, &ok, "eth_uninstallFilter", logsID); msg != "" || !ok {
		t.Fatalf("eth_uninstallFilter: %v %s", ok, msg)
	}
	if msg := g.rpc(t, nil, "eth_getFilterChanges", logsID); msg != "filter not found" {
		t.Fatalf("poll after uninstall: %q, want geth's \"filter not found\"", msg)
	}
}

// With registry.redis, a filter created on replica 1 is polled on
// replica 2: the poll sees the logs since creation, and the cursor is
// shared (replica 1 then sees nothing new); an uninstall on replica 2
// removes it for replica 1 too.
func TestFiltersSharedAcrossReplicas(t *testing.T) {
	addr, prefix := redistest.Shared(t)
	f := StartFleet(t, "a", "b")
	installContracts(f)
	c := &ConfigFile{Path: t.TempDir() + "/rpcgate.yaml", Token: "e2e-token"}
	c.WriteRaw(t, wsConfig(f.Nodes, nil, registryYAML(addr, prefix)))
	g1, g2 := c.Start(t), c.Start(t)
	var id string
	if msg := g1.rpc(t, &id, "eth_newFilter", map[string]any{"address": emitterAddress.Hex()}); msg != "" {
		t.Fatalf("eth_newFilter on replica 1: %s", msg)
	}
	direct := dial(t, f.Node("b").URL)
	emitLogs(t, f, direct, payload(0), payload(1), payload(2))
	var got []uint64
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < 3 && time.Now().Before(deadline) {
		var logs []filterLog
		if msg := g2.rpc(t, &logs, "eth_getFilterChanges", id); msg != "" {
			t.Fatalf("eth_getFilterChanges on replica 2: %s", msg)
		}
		for _, l := range logs {
			got = append(got, logValue(t, l))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(got) != 3 || got[0] != 0 || got[1] != 1 || got[2] != 2 {
		t.Fatalf("replica 2 saw %v, want [0 1 2]", got)
	}
	var again []filterLog
	if msg := g1.rpc(t, &again, "eth_getFilterChanges", id); msg != "" || len(again) != 0 {
		t.Fatalf("replica 1 after replica 2's poll: %v %s, want [] (shared cursor)", again, msg)
	}
	var ok bool
	if msg := g2.rpc(t, &ok, "eth_uninstallFilter", id); msg != "" || !ok {
		t.Fatalf("uninstall on replica 2: %v %s", ok, msg)
	}
	if msg := g1.rpc(t, nil, "eth_getFilterChanges", id); msg != "filter not found" {
		t.Fatalf("replica 1 after uninstall: %q", msg)
	}
}
