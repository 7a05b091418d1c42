package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethstats"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/version"
)

// gethDev is an in-process geth dev node (the simulated beacon seals a
// block on Commit) with go-ethereum's own ethstats reporters attached:
// the stock client, as `geth --ethstats name:secret@host` runs it.
type gethDev struct {
	stack  *node.Node
	beacon *catalyst.SimulatedBeacon
	URL    string // its HTTP JSON-RPC (any path: the prefix is "/")
}

// startGethDev starts the node, serving HTTP on port, with one ethstats
// reporter per URL ("name:secret@host:port"), and seals block 1 (a node
// at genesis reports eth_syncing until its transaction index has run).
func startGethDev(t testing.TB, port int, ethstatsURLs ...string) *gethDev {
	t.Helper()
	nodeConf := node.DefaultConfig
	nodeConf.Name = "Geth"
	// As geth's own build sets it: Geth/v1.17.8-stable/linux-amd64/go1.x
	nodeConf.Version = fmt.Sprintf("%d.%d.%d-%s", version.Major, version.Minor, version.Patch, version.Meta)
	nodeConf.DataDir = ""
	nodeConf.P2P = p2p.Config{NoDiscovery: true, ListenAddr: "127.0.0.1:0", MaxPeers: 1}
	nodeConf.HTTPHost, nodeConf.HTTPPort, nodeConf.HTTPPathPrefix = "127.0.0.1", port, "/"
	nodeConf.HTTPModules = []string{"eth", "net", "web3"}
	stack, err := node.New(&nodeConf)
	if err != nil {
		t.Fatal(err)
	}
	ethConf := ethconfig.Defaults
	ethConf.Genesis = &core.Genesis{Config: params.AllDevChainProtocolChanges, GasLimit: ethconfig.Defaults.Miner.GasCeil, Alloc: core.SystemContractAllocs()}
	ethConf.NetworkId = params.AllDevChainProtocolChanges.ChainID.Uint64()
	ethConf.SyncMode = ethconfig.FullSync
	backend, err := eth.New(stack, &ethConf)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ethstatsURLs {
		if err := ethstats.New(stack, backend.APIBackend, backend.Engine(), u); err != nil {
			t.Fatal(err)
		}
	}
	if err := stack.Start(); err != nil {
		t.Fatal(err)
	}
	beacon, err := catalyst.NewSimulatedBeacon(0, common.Address{}, backend)
	if err != nil {
		stack.Close()
		t.Fatal(err)
	}
	if err := beacon.Fork(backend.BlockChain().GetCanonicalHash(0)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stack.Close() })
	beacon.Commit()
	return &gethDev{stack: stack, beacon: beacon, URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
}

// TestOrchestratorEthstats: go-ethereum's ethstats client, on a dev node,
// reports to the orchestrator's /api with its stock URL. The reporter
// named after a config node is matched to it (client version and head
// shown); a reporter nobody knows joins through the chain's url_template
// and the same verification, then serves reads; a wrong secret is
// refused. The chain's node "ref" is the same geth, so the genesis and the
// block at head-16 match.
func TestOrchestratorEthstats(t *testing.T) {
	// Not parallel: it runs an in-process geth dev node, whose ethstats
	// reporter under the race detector and the rest of the suite's load did
	// not get its report through (3 minutes); alone it joins in seconds.
	orch := fmt.Sprintf("127.0.0.1:%d", freePort())
	// The template points at a counting proxy in front of geth, so reads
	// that the joined node serves are counted.
	var proxy *Proxy
	urls := []string{
		"ref:" + joinSecret + "@" + orch,     // matched by name to the config node
		"gethdev:" + joinSecret + "@" + orch, // joins through the template
		"intruder:wrong-secret@" + orch,      // refused
	}
	// geth starts first (the gateway waits for its node); its reporters
	// find no orchestrator yet and retry 10s later, as they would in life.
	port := freePort()
	gethURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	proxy = StartProxy(t, "gethdev", gethURL)
	ref := StartProxy(t, "ref", gethURL)
	chainExtra := fmt.Sprintf("  chains:\n    eth:\n      url_template: %q\n", proxy.URL+"/{name}")
	g0 := startGethDev(t, port, urls...)
	cfg := WriteConfigFile(t, map[string]*Proxy{"ref": ref}, GatewayOpts{}, orchestratorYAML(orch, chainExtra))
	g := cfg.Start(t)

	// Bounds on waits, not on speed: geth's reporter retries every 10 s,
	// and under the race detector with the whole suite running a report
	// and its verification can take well over a minute.
	eventually(t, 3*time.Minute, "gethdev to join through ethstats", func() (bool, string) {
		nodes, raw := g.AdminNodes(t)
		return nodes["gethdev"].Source == "orchestrator", raw
	})
	// The head moves: seal blocks, and watch the reports follow.
	for i := 0; i < 3; i++ {
		g0.beacon.Commit()
	}
	eventually(t, 3*time.Minute, "ethstats reports of head 4 from gethdev and ref", func() (bool, string) {
		v, raw := g.Orchestrator(t)
		var member bool
		for _, m := range v.Members {
			member = member || m.Name == "gethdev" && m.Via == "ethstats" && m.Ethstats != nil && m.Ethstats.Head >= 4
		}
		return member && strings.Contains(raw, `"eth/ref":{"client":"Geth/`), raw
	})
	v, raw := g.Orchestrator(t)
	for _, m := range v.Members {
		if m.Name == "gethdev" && (m.Ethstats == nil || !strings.HasPrefix(m.Ethstats.Client, "Geth/v")) {
			t.Errorf("gethdev's client version is not shown: %s", raw)
		}
	}
	eventually(t, 3*time.Minute, "the wrong secret to be refused", func() (bool, string) {
		v, raw := g.Orchestrator(t)
		check, _, ok := v.refusalOf("intruder")
		return ok && check == "token", raw
	})
	if nodes, raw := g.AdminNodes(t); len(nodes) != 2 {
		t.Errorf("want exactly ref and gethdev, got: %s", raw)
	}
	// The joined node serves reads.
	load := StartLoad(t, g.URL, 4, balanceRead)
	eventually(t, 3*time.Minute, "reads to reach gethdev", func() (bool, string) {
		return proxy.Count("eth_getBalance") > 0, fmt.Sprintf("gethdev %d, ref %d", proxy.Count("eth_getBalance"), ref.Count("eth_getBalance"))
	})
	load.Stop()
	load.requireNoFailures(t, "reads")

	// The status page shows each node's client and version, peers and
	// pending count.
	eventually(t, 30*time.Second, "the status page to show gethdev's client, peers and pending", func() (bool, string) {
		resp, err := http.Get(g.Base + "/status.json")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		var page struct {
			Chains []struct {
				Nodes []struct {
					Name           string `json:"name"`
					Client         string `json:"client"`
					Peers, Pending *int
				} `json:"nodes"`
			} `json:"chains"`
		}
		raw, _ := io.ReadAll(resp.Body)
		if json.Unmarshal(raw, &page) != nil || len(page.Chains) == 0 {
			return false, string(raw)
		}
		for _, n := range page.Chains[0].Nodes {
			if n.Name == "gethdev" {
				return strings.HasPrefix(n.Client, "Geth/v1.17.8") && n.Peers != nil && n.Pending != nil, string(raw)
			}
		}
		return false, string(raw)
	})
}
