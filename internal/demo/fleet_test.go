package demo

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/config"
)

func TestFleetNodes(t *testing.T) {
	t.Parallel()
	f := startFleet(t, Options{})
	c := client(t)
	var names []string
	for _, n := range f.Nodes() {
		names = append(names, n.Name)
		if !strings.HasPrefix(n.URL, "http://127.0.0.1:") || n.Behaviour == "" {
			t.Errorf("node %+v", n)
		}
		var version string
		result(t, c, n.URL, &version, "web3_clientVersion")
		if version != "rpcgate-demo/"+n.Name {
			t.Errorf("%s says it is %q", n.URL, version)
		}
	}
	if !slices.Equal(names, []string{"steady", "laggy", "flaky"}) {
		t.Fatalf("nodes %v", names)
	}
}

func TestFleetConfigParses(t *testing.T) {
	t.Parallel()
	f := startFleet(t, Options{ChainID: 31337, BlockTime: time.Second})
	yml := f.Config("127.0.0.1:18545", "127.0.0.1:18546")
	for _, n := range f.Nodes() {
		if !strings.Contains(string(yml), n.URL) {
			t.Errorf("config lacks %s's URL %s:\n%s", n.Name, n.URL, yml)
		}
	}

	cfg, err := config.Parse("demo.yaml", yml, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config.Parse: %v\n%s", err, yml)
	}
	if cfg.Listen != "127.0.0.1:18545" || cfg.Admin.Listen != "127.0.0.1:18546" {
		t.Errorf("listen %q admin %q", cfg.Listen, cfg.Admin.Listen)
	}
	ch := cfg.Chains[ChainName]
	if ch == nil || len(cfg.Chains) != 1 {
		t.Fatalf("chains %v, want only %s", cfg.Chains, ChainName)
	}
	if ch.ChainID != 31337 || ch.PollInterval.D() != 500*time.Millisecond {
		t.Errorf("chain_id %d, poll_interval %v", ch.ChainID, ch.PollInterval.D())
	}
	for _, n := range f.Nodes() {
		if got := ch.Nodes[n.Name]; got == nil || got.URL != n.URL {
			t.Errorf("node %s: %+v, want url %s", n.Name, got, n.URL)
		}
	}
	def, logs := ch.Groups["default"], ch.Groups["logs"]
	if def == nil || !slices.Equal(def.Nodes, []string{"steady", "laggy", "flaky"}) {
		t.Errorf("default group %+v", def)
	}
	if logs == nil || !slices.Equal(logs.Methods, []string{"eth_getLogs"}) || logs.Fallback != "default" || len(logs.Nodes) == 0 {
		t.Errorf("logs group %+v", logs)
	}
}

func TestFleetClose(t *testing.T) {
	t.Parallel()
	f, err := Start(t.Context(), Options{BlockTime: 10 * time.Millisecond, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	c := client(t)
	url := nodeURL(t, f, "steady")
	blockNumber(t, c, url)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for range f.Events() { // must be closed, or this hangs
	}
	head := f.Head()
	if _, err := c.Post(url, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`)); err == nil {
		t.Error("node still answers after Close")
	}
	time.Sleep(50 * time.Millisecond) // five block times: the chain must not move
	if f.Head() != head {
		t.Errorf("chain still mining after Close: %d → %d", head, f.Head())
	}
}
