package execute

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/telemetry"
)

// threeChain runs chain eth over a, b and c in one group with consensus.
func threeChain(t *testing.T, consensus string, nodes ...*testNode) *fleet.Chain {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(`
chains:
  eth:
    chain_id: 1337
    poll_interval: 50ms
    nodes: {a: {url: %q}, b: {url: %q}, c: {url: %q}}
    groups:
      default: {nodes: [a, b, c], consensus: %s}
`, nodes[0].srv.URL, nodes[1].srv.URL, nodes[2].srv.URL, consensus)), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := fleet.NewChain("eth", fleet.SpecOf(cfg.Chains["eth"], cfg.Limits), slog.New(slog.DiscardHandler), telemetry.NewMetrics("test"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.Start(ctx)
	t.Cleanup(func() { cancel(); c.Stop() })
	waitFor(t, "a, b and c selectable", func() bool {
		return c.Selectable(c.Node("a")) && c.Selectable(c.Node("b")) && c.Selectable(c.Node("c"))
	})
	return c
}

// answering makes a node answer every call with raw (a result or error
// member), keeping the caller's id.
func answering(raw string) func(w http.ResponseWriter, body []byte) bool {
	return func(w http.ResponseWriter, body []byte) bool {
		id := "null"
		if i := strings.Index(string(body), `"id":`); i >= 0 {
			rest := string(body[i+5:])
			id = rest[:strings.IndexAny(rest, ",}")]
		}
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,%s}`, id, raw)
		return true
	}
}

func TestQuorumDisputeErrorNamesTheDisagreement(t *testing.T) {
	t.Parallel()
	a, b, c := startNode(t), startNode(t), startNode(t)
	a.set(answering(`"result":"0x1"`))
	b.set(answering(`"result":"0x2"`))
	c.set(answering(`"result":"0x3"`))
	ch := threeChain(t, "{mode: quorum, participants: 3, agree: 2, on_dispute: error}", a, b, c)
	ans, rec := call(t, New(nil), ch, `{"jsonrpc":"2.0","id":9,"method":"eth_getBalance","params":["0x00","latest"]}`)
	defer ans.Release()
	if ans.Err == nil || ans.Err.Code != CodeDispute {
		t.Fatalf("answer %+v, want -32010", ans)
	}
	for _, n := range []string{`"a"`, `"b"`, `"c"`} {
		if !strings.Contains(string(ans.Err.Data), n) {
			t.Fatalf("data %s does not name node %s", ans.Err.Data, n)
		}
	}
	if rec.Consensus != "disputed" || rec.PinnedBlock != 1 || len(rec.Attempts()) != 3 {
		t.Fatalf("record: consensus %q pinned %d attempts %d", rec.Consensus, rec.PinnedBlock, len(rec.Attempts()))
	}
}

func TestQuorumMostCommonAndPinning(t *testing.T) {
	t.Parallel()
	a, b, c := startNode(t), startNode(t), startNode(t)
	a.set(answering(`"result":{"x":1,"y":2}`))
	b.set(answering(`"result":{ "y":2, "x":1 }`)) // the same answer, written differently
	c.set(answering(`"result":{"x":1,"y":3}`))
	ch := threeChain(t, "{mode: quorum, participants: 3, agree: 3, on_dispute: most_common}", a, b, c)
	ans, rec := call(t, New(nil), ch, `{"jsonrpc":"2.0","id":"q","method":"eth_getBlockByNumber","params":["latest",false]}`)
	defer ans.Release()
	if ans.Err != nil || !strings.Contains(string(ans.Body), `"y":2`) || !strings.Contains(string(ans.Body), `"id":"q"`) {
		t.Fatalf("answer %s %+v, want the majority's with the client's id", ans.Body, ans.Err)
	}
	if rec.PinnedBlock != 1 || rec.Consensus != "disputed" {
		t.Fatalf("record: pinned %d consensus %q", rec.PinnedBlock, rec.Consensus)
	}
	for _, n := range []*testNode{a, b, c} {
		n.mu.Lock()
		got := n.bodies[len(n.bodies)-1]
		n.mu.Unlock()
		if !strings.Contains(got, `"params":["0x1",false]`) {
			t.Fatalf("a participant got %s; latest was not pinned to 0x1", got)
		}
	}
	if v := ch.Reputation().View("c"); v.Disputes != 1 {
		t.Fatalf("c lost %d disputes, want 1", v.Disputes)
	}
}

func TestQuorumRevertsAgreeInfraIsNoVote(t *testing.T) {
	t.Parallel()
	a, b, c := startNode(t), startNode(t), startNode(t)
	a.set(answering(`"error":{"code":3,"message":"execution reverted: nope","data":"0x01"}`))
	b.set(answering(`"error":{"code":-32000,"message":"execution reverted"}`))
	c.set(func(w http.ResponseWriter, body []byte) bool { w.WriteHeader(http.StatusBadGateway); return true })
	ch := threeChain(t, "{mode: quorum, participants: 3, agree: 2, on_dispute: error}", a, b, c)
	ans, rec := call(t, New(nil), ch, `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"to":"0x00"},"latest"]}`)
	defer ans.Release()
	if ans.Err != nil || !strings.Contains(string(ans.Body), "reverted") {
		t.Fatalf("answer %s %+v, want a node's revert", ans.Body, ans.Err)
	}
	if ch.Reputation().View("c").Disputes != 0 {
		t.Fatal("an infrastructure failure lost a dispute")
	}
	_ = rec
}
