package orchestrator_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
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

// TestTLSJoin: with tls_cert/tls_key the listener speaks wss://, and an
// agent trusting the certificate (--ca) joins through it.
func TestTLSJoin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir)
	nodes := simNodes(t)
	f := &memFleet{ref: nodespec.Spec{Name: "ref", URL: nodes.URL + "/ref"}, nodes: map[string]int{}}
	o := orchestrator.New(orchestrator.Options{Fleet: f, Log: slog.New(slog.DiscardHandler), Config: config.Orchestrator{
		Listen: "127.0.0.1:0", TLSCert: certFile, TLSKey: keyFile, JoinSecret: "s", Lease: config.Duration(time.Second),
		CheckInterval: config.Duration(time.Second), ProbationChecks: 2, Weight: 10}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := o.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer o.Stop()
	if _, _, err := websocket.Dial(ctx, "ws://"+o.Addr()+"/join", nil); err == nil {
		t.Error("plain ws:// reached a TLS listener")
	}
	a, err := agent.New(agent.Options{Node: nodes.URL + "/n/9", Chain: "eth", Name: "n9", Orchestrator: "wss://" + o.Addr(), Secret: "s", CAFile: certFile})
	if err != nil {
		t.Fatal(err)
	}
	actx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = a.Run(actx); close(done) }()
	waitFor(t, "a join over wss://", func() bool { return f.has("admit n9 1") })
	stop()
	<-done
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "orchestrator"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
