package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/redistest"
)

// Orchestrator e2e tests: real anvils, the real binary as gateway and as
// `rpcgate agent`, and the shared Redis.

const joinSecret = "e2e-join-secret"

var codeRead = readCall{"eth_getCode", []any{devAddress.Hex(), "latest"}}

// orchestratorYAML is the top-level orchestrator block: lease 2s, checks
// every 200ms, two passed checks end probation.
func orchestratorYAML(listen, extra string) string {
	return fmt.Sprintf("orchestrator:\n  listen: %q\n  join_secret: %q\n  lease: 2s\n  check_interval: 200ms\n  probation_checks: 2\n%s",
		listen, joinSecret, extra)
}

// AgentProc is one `rpcgate agent` process.
type AgentProc struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// startAgent runs `rpcgate agent args...`; it is killed at cleanup.
func startAgent(t testing.TB, args ...string) *AgentProc {
	t.Helper()
	a := &AgentProc{out: &syncBuffer{}, done: make(chan struct{})}
	a.cmd = exec.Command(gatewayBin, append([]string{"agent"}, args...)...)
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	go func() { _ = a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		a.Signal(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("agent output:\n%s", a.out.String())
		}
	})
	return a
}

// Signal sends sig and, for SIGKILL, waits until the process is gone.
func (a *AgentProc) Signal(sig syscall.Signal) {
	_ = a.cmd.Process.Signal(sig)
	if sig == syscall.SIGKILL {
		<-a.done
	}
}

func agentArgs(node, advertise, name, orch, secret string) []string {
	return []string{"--node", node, "--advertise", advertise, "--chain", "eth", "--name", name,
		"--orchestrator", "ws://" + orch, "--secret", secret, "--log-format", "text"}
}

// orchView is GET /admin/orchestrator.
type orchView struct {
	Members []struct {
		Chain, Name, State, Via string
		Connected               bool
		Ethstats                *struct {
			Client  string `json:"client"`
			Head    uint64 `json:"head"`
			Peers   int    `json:"peers"`
			Pending int    `json:"pending"`
			Blocks  int64  `json:"blocks"`
		} `json:"ethstats"`
	} `json:"members"`
	Refusals []struct {
		Chain, Name, Via, Check, Reason string
	} `json:"refusals"`
}

func (g *Gateway) Orchestrator(t testing.TB) (orchView, string) {
	t.Helper()
	code, body := g.Admin(t, http.MethodGet, "/admin/orchestrator", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /admin/orchestrator: HTTP %d: %s", code, body)
	}
	var v orchView
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET /admin/orchestrator: %v: %s", err, body)
	}
	return v, string(body)
}

// refusalOf is the first refusal recorded for name, if any.
func (v orchView) refusalOf(name string) (check, reason string, ok bool) {
	for _, r := range v.Refusals {
		if r.Name == name {
			return r.Check, r.Reason, true
		}
	}
	return "", "", false
}

func (v orchView) stateOf(name string) string {
	for _, m := range v.Members {
		if m.Name == name {
			return m.State
		}
	}
	return ""
}

// TestOrchestratorAgentJoin: an anvil with `rpcgate agent` beside it joins
// a running gateway; reads reach it, a second replica on the same Redis
// uses it too; after SIGKILL of the agent, the lease runs out and the node
// is drained, then removed, with no failed client read.
func TestOrchestratorAgentJoin(t *testing.T) {
	t.Parallel()
	addr, prefix := redistest.Shared(t)
	f := StartFleet(t, "a", "b", "d")
	ps := StartProxies(t, f)
	orch := fmt.Sprintf("127.0.0.1:%d", freePort())
	base := map[string]*Proxy{"a": ps["a"], "b": ps["b"]}
	g1 := WriteConfigFile(t, base, GatewayOpts{}, registryYAML(addr, prefix)+orchestratorYAML(orch, "")).Start(t)
	g2 := WriteConfigFile(t, base, GatewayOpts{}, registryYAML(addr, prefix)).Start(t)
	// Each replica has its own read method, so the proxy tells who sent what.
	load1 := StartLoad(t, g1.URL, 4, balanceRead)
	load2 := StartLoad(t, g2.URL, 4, codeRead)
	load1.waitReads(t, "eth_getBalance", 20)

	agent := startAgent(t, agentArgs(f.Node("d").URL, ps["d"].URL, "d", orch, joinSecret)...)
	eventually(t, 30*time.Second, "gateway 1 to list d from the orchestrator", func() (bool, string) {
		nodes, raw := g1.AdminNodes(t)
		return nodes["d"].Source == "orchestrator", raw
	})
	eventually(t, 30*time.Second, "gateway 1's reads to reach d", func() (bool, string) {
		return ps["d"].Count("eth_getBalance") > 0, countsOf(ps)
	})
	eventually(t, 30*time.Second, "gateway 2's reads to reach d", func() (bool, string) {
		return ps["d"].Count("eth_getCode") > 0, countsOf(ps)
	})
	if nodes, raw := g2.AdminNodes(t); nodes["d"].Source != "orchestrator" {
		t.Errorf("gateway 2 does not list d with source orchestrator: %s", raw)
	}
	eventually(t, 30*time.Second, "d to leave probation", func() (bool, string) {
		v, raw := g1.Orchestrator(t)
		return v.stateOf("d") == "serving", raw
	})
	if nodes, raw := g2.AdminNodes(t); nodes["d"].Weight != 10 {
		t.Errorf("gateway 2: d's weight after probation is %v, want 10: %s", nodes["d"].Weight, raw)
	}

	agent.Signal(syscall.SIGKILL)
	for i, g := range []*Gateway{g1, g2} {
		eventually(t, 30*time.Second, fmt.Sprintf("gateway %d to stop listing d", i+1), func() (bool, string) {
			nodes, raw := g.AdminNodes(t)
			_, listed := nodes["d"]
			return !listed, raw
		})
	}
	// Drained, then removed, in that order, after the lease. (The log is
	// written asynchronously: wait for the last line.)
	eventually(t, 10*time.Second, "gateway 1 to log the removal", func() (bool, string) {
		return strings.Contains(g1.out.String(), "orchestrator: node removed"), ""
	})
	log := g1.out.String()
	gone := strings.Index(log, "agent gone; lease running")
	drain := strings.Index(log, "lease expired; draining node")
	removed := strings.Index(log, "orchestrator: node removed")
	if gone < 0 || drain < gone || removed < drain {
		t.Errorf("want log lines gone (%d) < lease expired, draining (%d) < removed (%d)", gone, drain, removed)
	}
	// Nothing reaches d any more.
	load1.waitReads(t, "eth_getBalance", 20)
	before := ps["d"].Count("eth_getBalance") + ps["d"].Count("eth_getCode")
	load1.waitReads(t, "eth_getBalance", 100)
	load2.waitReads(t, "eth_getCode", 100)
	if after := ps["d"].Count("eth_getBalance") + ps["d"].Count("eth_getCode"); after != before {
		t.Errorf("reads still reach removed d: %d -> %d", before, after)
	}
	// It comes back when the agent does (verified again).
	startAgent(t, agentArgs(f.Node("d").URL, ps["d"].URL, "d", orch, joinSecret)...)
	atRemoval := ps["d"].Count("eth_getCode")
	eventually(t, 30*time.Second, "gateway 2's reads to reach d again", func() (bool, string) {
		return ps["d"].Count("eth_getCode") > atRemoval, countsOf(ps)
	})
	if nodes, raw := g2.AdminNodes(t); nodes["d"].Source != "orchestrator" {
		t.Errorf("gateway 2 does not list the returning d from the orchestrator: %s", raw)
	}
	load1.Stop()
	load2.Stop()
	load1.requireNoFailures(t, "reads on gateway 1")
	load2.requireNoFailures(t, "reads on gateway 2")
}

// TestOrchestratorRefuses: nodes that fail a verification check are
// refused with a reason naming it, and never serve a client call: another
// chain id, another genesis (--timestamp), 50 blocks behind, and a fork
// (its block at head-16 differs). Joins with a wrong or revoked token are
// refused too.
func TestOrchestratorRefuses(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "lag", "fork", "tok")
	other := StartForeignAnvil(t, "otherid", 999)
	genesis := &Anvil{Name: "genesis", bin: anvilPath(t), genesis: genesisTime + 1, out: &syncBuffer{}}
	t.Cleanup(genesis.Kill)
	if err := genesis.start(0); err != nil {
		t.Fatal(err)
	}
	// a and b (the fleet) and fork reach 60; fork's block 1 has another
	// timestamp, so every block after genesis differs; lag stays at 10.
	f.Mine(60, "a", "b")
	f.SetNextTimestamp(genesisTime+5, "fork")
	f.Mine(60, "fork")
	f.Mine(10, "lag")
	if h1, _ := f.Node("a").BlockHash(44); h1 == "" || h1 == must(f.Node("fork").BlockHash(44)) {
		t.Fatalf("fork's block 44 is a's (%s): the fork did not happen", h1)
	}
	ps := StartProxies(t, f)
	for name, a := range map[string]*Anvil{"otherid": other, "genesis": genesis} {
		ps[name] = StartProxy(t, name, a.URL)
	}
	orch := fmt.Sprintf("127.0.0.1:%d", freePort())
	g := WriteConfigFile(t, map[string]*Proxy{"a": ps["a"], "b": ps["b"]}, GatewayOpts{}, orchestratorYAML(orch, "")).Start(t)
	load := StartLoad(t, g.URL, 4, balanceRead)
	load.waitReads(t, "eth_getBalance", 20)

	// A token made for "tok", then revoked; one made for another name.
	code, body := g.Admin(t, http.MethodPost, "/admin/orchestrator/tokens", map[string]string{"chain": "eth", "name": "tok"})
	var tok struct{ ID, Token string }
	if code != http.StatusCreated || json.Unmarshal(body, &tok) != nil || tok.Token == "" {
		t.Fatalf("create token: HTTP %d: %s", code, body)
	}
	if code, body := g.Admin(t, http.MethodDelete, "/admin/orchestrator/tokens/"+tok.ID, nil); code != http.StatusOK {
		t.Fatalf("revoke token: HTTP %d: %s", code, body)
	}
	code, body = g.Admin(t, http.MethodPost, "/admin/orchestrator/tokens", map[string]string{"chain": "eth", "name": "someone-else"})
	var elses struct{ Token string }
	if code != http.StatusCreated || json.Unmarshal(body, &elses) != nil {
		t.Fatalf("create token: HTTP %d: %s", code, body)
	}

	cases := []struct {
		name, node, secret, check, reason string
	}{
		{"otherid", other.URL, joinSecret, "chain_id", "chain id 999"},
		{"genesis", genesis.URL, joinSecret, "genesis", "block 0"},
		{"lag", f.Node("lag").URL, joinSecret, "max_lag", "50 blocks behind"},
		{"fork", f.Node("fork").URL, joinSecret, "fork", "head-16"},
		{"tok", f.Node("tok").URL, tok.Token, "token", "no valid join token"}, // revoked
		{"wrong", f.Node("tok").URL, "not-the-secret", "token", "no valid join token"},
		{"tok2", f.Node("tok").URL, elses.Token, "token", "no valid join token"}, // bound to another name
	}
	for _, c := range cases {
		advertise := f.Node("tok").URL
		if p := ps[c.name]; p != nil {
			advertise = p.URL
		}
		startAgent(t, agentArgs(c.node, advertise, c.name, orch, c.secret)...)
	}
	for _, c := range cases {
		eventually(t, 30*time.Second, "a refusal of "+c.name, func() (bool, string) {
			v, raw := g.Orchestrator(t)
			_, _, ok := v.refusalOf(c.name)
			return ok, raw
		})
		v, raw := g.Orchestrator(t)
		check, reason, _ := v.refusalOf(c.name)
		if check != c.check || !strings.Contains(reason, c.reason) {
			t.Errorf("%s refused with check %q reason %q; want check %q and a reason containing %q\n%s", c.name, check, reason, c.check, c.reason, raw)
		}
	}
	for _, check := range []string{"chain_id", "genesis", "max_lag", "fork", "token"} {
		if v, ok := g.Metric(t, "rpcgate_orchestrator_refused_total", map[string]string{"chain": "eth", "check": check}); !ok || v < 1 {
			t.Errorf("rpcgate_orchestrator_refused_total{check=%q} is %v (present %v), want >= 1", check, v, ok)
		}
	}
	// None ever served: not listed, and no client read reached them.
	load.waitReads(t, "eth_getBalance", 200)
	nodes, raw := g.AdminNodes(t)
	for _, c := range cases {
		if _, listed := nodes[c.name]; listed {
			t.Errorf("refused %s is listed: %s", c.name, raw)
		}
		if p := ps[c.name]; p != nil && p.Count("eth_getBalance") > 0 {
			t.Errorf("refused %s served %d client reads", c.name, p.Count("eth_getBalance"))
		}
	}
	load.Stop()
	load.requireNoFailures(t, "reads")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestOrchestratorAgentLeaves: SIGTERM to the agent drains its node and
// removes it before the agent exits (status 0), with no failed read.
func TestOrchestratorAgentLeaves(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "e")
	ps := StartProxies(t, f)
	orch := fmt.Sprintf("127.0.0.1:%d", freePort())
	g := WriteConfigFile(t, map[string]*Proxy{"a": ps["a"]}, GatewayOpts{}, orchestratorYAML(orch, "")).Start(t)
	load := StartLoad(t, g.URL, 4, balanceRead)
	agent := startAgent(t, agentArgs(f.Node("e").URL, ps["e"].URL, "e", orch, joinSecret)...)
	eventually(t, 30*time.Second, "reads to reach e", func() (bool, string) {
		return ps["e"].Count("eth_getBalance") > 0, countsOf(ps)
	})
	agent.Signal(syscall.SIGTERM)
	select {
	case <-agent.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("agent still running 30s after SIGTERM:\n%s", agent.out.String())
	}
	if !agent.cmd.ProcessState.Success() {
		t.Errorf("agent exited with %v after SIGTERM:\n%s", agent.cmd.ProcessState, agent.out.String())
	}
	if !strings.Contains(agent.out.String(), "agent: left") {
		t.Errorf("agent exited without the orchestrator's confirmation:\n%s", agent.out.String())
	}
	// The orchestrator confirms only once the node is removed.
	if nodes, raw := g.AdminNodes(t); nodes["e"].Name != "" {
		t.Errorf("e is still listed after its agent left: %s", raw)
	}
	load.waitReads(t, "eth_getBalance", 20)
	before := ps["e"].Count("eth_getBalance")
	load.waitReads(t, "eth_getBalance", 100)
	if after := ps["e"].Count("eth_getBalance"); after != before {
		t.Errorf("reads still reach e after it left: %d -> %d", before, after)
	}
	load.Stop()
	load.requireNoFailures(t, "reads")
}
