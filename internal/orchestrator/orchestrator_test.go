package orchestrator_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/rpcgate/rpcgate/internal/agent"
	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/joinproto"
	"github.com/rpcgate/rpcgate/internal/nodespec"
	"github.com/rpcgate/rpcgate/internal/orchestrator"
)

// memFleet records what the orchestrator asks of the gateway.
type memFleet struct {
	ref    nodespec.Spec
	mu     sync.Mutex
	nodes  map[string]int // name → weight
	events []string
}

func (f *memFleet) ObserveHead(string, string, uint64) {}
func (f *memFleet) ChainNames() []string               { return []string{"eth"} }
func (f *memFleet) Known(_, name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.nodes[name]
	return ok
}
func (f *memFleet) Guard(context.Context, string, nodespec.Spec) error { return nil }
func (f *memFleet) Chain(string) (orchestrator.ChainInfo, bool) {
	return orchestrator.ChainInfo{ChainID: 1337, MaxLag: 3, BestHead: 100, References: []nodespec.Spec{f.ref}}, true
}
func (f *memFleet) Admit(_ context.Context, _ string, s nodespec.Spec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes[s.Name] = s.Weight
	f.events = append(f.events, fmt.Sprintf("admit %s %d", s.Name, s.Weight))
	return nil
}
func (f *memFleet) Retire(_ context.Context, _, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.nodes, name)
	f.events = append(f.events, "retire "+name)
	return nil
}
func (f *memFleet) has(event string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.events, event)
}

func start(t *testing.T) (*orchestrator.Orchestrator, *memFleet, string) {
	t.Helper()
	nodes := simNodes(t)
	f := &memFleet{ref: nodespec.Spec{Name: "ref", URL: nodes.URL + "/ref"}, nodes: map[string]int{}}
	o := orchestrator.New(orchestrator.Options{Fleet: f, Log: slog.New(slog.DiscardHandler), Config: config.Orchestrator{
		Listen: "127.0.0.1:0", JoinSecret: "s", Lease: config.Duration(100 * time.Millisecond),
		CheckInterval: config.Duration(20 * time.Millisecond), ProbationChecks: 2, Weight: 10}})
	ctx, cancel := context.WithCancel(context.Background())
	if err := o.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); o.Stop() })
	return o, f, nodes.URL
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 2000; i++ {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// rawJoin joins as an agent would and returns the connection and the answer.
func rawJoin(t *testing.T, o *orchestrator.Orchestrator, nodeURL, name, secret string) (*websocket.Conn, joinproto.Message) {
	t.Helper()
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws://"+o.Addr()+"/join", nil)
	if err != nil {
		t.Fatal(err)
	}
	join := joinproto.Message{Type: joinproto.TypeJoin, Token: secret, Chain: "eth", Name: name, URL: nodeURL, Facts: &joinproto.Facts{ChainID: 1337}}
	if err := c.Write(ctx, websocket.MessageText, joinproto.Encode(join)); err != nil {
		t.Fatal(err)
	}
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := joinproto.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return c, m
}

// TestProbationThenLease: admitted at weight 1, promoted to 10 after two
// passed checks; the connection dropped without a leave, the node is
// retired once the lease runs out.
func TestProbationThenLease(t *testing.T) {
	t.Parallel()
	o, f, url := start(t)
	c, m := rawJoin(t, o, url+"/n/1", "n1", "s")
	if m.Type != joinproto.TypeAccepted || m.State != orchestrator.StateProbation {
		t.Fatalf("join answered %+v", m)
	}
	if !f.has("admit n1 1") {
		t.Fatalf("not admitted at weight 1: %v", f.events)
	}
	waitFor(t, "promotion to weight 10", func() bool { return f.has("admit n1 10") })
	c.CloseNow() // as a SIGKILLed agent would
	waitFor(t, "retirement after the lease", func() bool { return f.has("retire n1") })
	waitFor(t, "the member to go", func() bool { return len(o.Snapshot().Members) == 0 })
}

// TestAgentLeaves: an agent whose context ends leaves: its node is retired
// before Run returns.
func TestAgentLeaves(t *testing.T) {
	t.Parallel()
	o, f, url := start(t)
	a, err := agent.New(agent.Options{Node: url + "/n/2", Chain: "eth", Name: "n2", Orchestrator: "ws://" + o.Addr(), Secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitFor(t, "the join", func() bool { return f.has("admit n2 1") })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !f.has("retire n2") {
		t.Errorf("Run returned before the node was retired: %v", f.events)
	}
}

// TestRefusals: a wrong secret and a garbage first message are refused;
// neither admits anything.
func TestRefusals(t *testing.T) {
	t.Parallel()
	o, f, url := start(t)
	_, m := rawJoin(t, o, url+"/n/3", "n3", "wrong")
	if m.Type != joinproto.TypeRefused || m.Check != orchestrator.CheckToken {
		t.Errorf("wrong secret answered %+v", m)
	}
	c, _, err := websocket.Dial(context.Background(), "ws://"+o.Addr()+"/join", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"heartbeat","facts":{}}`))
	if _, _, err := c.Read(context.Background()); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Errorf("a heartbeat before join: %v, want a policy-violation close", err)
	}
	if len(f.events) != 0 {
		t.Errorf("something was admitted: %v", f.events)
	}
	v := o.Snapshot()
	if len(v.Refusals) != 1 || v.Refusals[0].Check != orchestrator.CheckToken {
		t.Errorf("refusals: %+v", v.Refusals)
	}
}
