package fleet

import (
	"log/slog"
	"testing"

	"github.com/rpcgate/rpcgate/internal/telemetry"
)

// Regression: a session's view of a group (Restrict) had no relaying state,
// so the first hedged read through a session panicked in HedgeDelay. The
// view keeps the group's policy and latency window.
func TestRestrictKeepsRelayingPolicy(t *testing.T) {
	t.Parallel()
	cfg := chainConfig(t, `
chains:
  eth:
    chain_id: 1
    nodes: {a: {url: "http://127.0.0.1:1"}, b: {url: "http://127.0.0.1:2"}}
    groups:
      default: {nodes: [a, b], hedge: {after: 150ms}}
      logs: {methods: [eth_getLogs], nodes: [a, b]}
`)
	c, err := NewChain("eth", SpecOf(cfg.Chains["eth"], cfg.Limits), slog.New(slog.DiscardHandler), telemetry.NewMetrics("test"))
	if err != nil {
		t.Fatal(err)
	}
	g := c.Group("eth_call")
	v := g.Restrict(g.Nodes[:1])
	if got, want := v.HedgeDelay("eth_call"), g.HedgeDelay("eth_call"); got != want || got == 0 {
		t.Fatalf("view hedge delay %v, group %v; want equal and non-zero", got, want)
	}
	if v.Consensus != g.Consensus || v.Fallback != g {
		t.Fatal("the view lost the group's consensus policy or its fallback")
	}
	// Regression (TestReadYourWrites, 2 of 100 stale): a hedge raced a pinned
	// read to a node outside the pin. A view never hedges.
	if !v.Hedge.Off {
		t.Fatal("a session's view hedges: a hedge would leave the pin")
	}
	// The adaptive delay reads the group's latency window (nil in the old
	// view: a nil-pointer panic).
	logs := c.Group("eth_getLogs")
	if got, want := logs.Restrict(logs.Nodes).HedgeDelay("eth_getLogs"), logs.HedgeDelay("eth_getLogs"); got != want {
		t.Fatalf("adaptive: view %v, group %v", got, want)
	}
}
