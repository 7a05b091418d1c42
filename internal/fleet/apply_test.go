package fleet

import (
	"log/slog"
	"testing"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/telemetry"
)

func chainConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("apply.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A reload keeps unchanged nodes as the same objects (health, head,
// latency and in-flight requests untouched), replaces changed ones, drops
// removed ones, and moves methods to their new groups.
func TestApplyKeepsUnchangedNodes(t *testing.T) {
	t.Parallel()
	before := chainConfig(t, `
chains:
  eth:
    chain_id: 1
    nodes: {a: {url: "http://127.0.0.1:1"}, b: {url: "http://127.0.0.1:2"}, c: {url: "http://127.0.0.1:3"}}
    groups: {default: {nodes: [a, b, c]}}
`)
	after := chainConfig(t, `
chains:
  eth:
    chain_id: 1
    nodes: {a: {url: "http://127.0.0.1:1"}, b: {url: "http://127.0.0.1:9"}, d: {url: "http://127.0.0.1:4"}}
    groups:
      default: {nodes: [a, b]}
      logs: {methods: [eth_getLogs], nodes: [d], fallback: default}
`)
	c, err := NewChain("eth", SpecOf(before.Chains["eth"], before.Limits), slog.New(slog.DiscardHandler), telemetry.NewMetrics("test"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.Node("a"), c.Node("b")
	if c.Group("eth_getLogs").Name != "default" {
		t.Fatal("before: eth_getLogs should be served by default")
	}
	if err := c.Apply(SpecOf(after.Chains["eth"], after.Limits)); err != nil {
		t.Fatal(err)
	}
	if c.Node("a") != a {
		t.Error("unchanged node a was rebuilt: its health and latency state would be lost")
	}
	if c.Node("b") == b || c.Node("b") == nil {
		t.Error("node b changed its URL and must be rebuilt")
	}
	if c.Node("c") != nil {
		t.Error("removed node c is still in the chain")
	}
	if g := c.Group("eth_getLogs"); g.Name != "logs" || len(g.Nodes) != 1 || g.Nodes[0] != c.Node("d") {
		t.Errorf("after: eth_getLogs served by %q, want logs with node d", g.Name)
	}
	if g := c.Group("eth_getLogs"); g.Fallback == nil || g.Fallback.Name != "default" {
		t.Error("logs group lost its fallback")
	}
}
