package fleet

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/telemetry"
)

// lockedBuffer is a log sink read while the checker writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Regression: a node's log lines (admitted, ejected, not reachable)
// carried "chain" twice, once from the chain's logger and once added by
// node.New.
func TestNodeLogLinesNameTheChainOnce(t *testing.T) {
	t.Parallel()
	// A port nothing listens on: the checker logs "node not reachable yet"
	// through the node's logger, as it logs admitted and ejected.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := chainConfig(t, `
chains:
  eth:
    chain_id: 1
    nodes: {a: {url: "http://`+addr+`"}}
    groups: {default: {nodes: [a]}}
`)
	var out lockedBuffer
	log := slog.New(slog.NewJSONHandler(&out, nil))
	c, err := NewChain("eth", SpecOf(cfg.Chains["eth"], cfg.Limits), log, telemetry.NewMetrics("test"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.Start(ctx)
	defer func() { cancel(); c.Stop() }()

	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "node not reachable yet") {
		if time.Now().After(deadline) {
			t.Fatalf("no node log line; log:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.Contains(line, `"node":"a"`) {
			continue
		}
		if n := strings.Count(line, `"chain":`); n != 1 {
			t.Errorf(`"chain" appears %d times, want once: %s`, n, line)
		}
	}
}

// StateOf is the one naming of node states (admin API, status page,
// demo): a node not yet verified is unknown, a parked one draining.
func TestStateOf(t *testing.T) {
	t.Parallel()
	cfg := chainConfig(t, `
chains:
  eth:
    chain_id: 1
    nodes: {a: {url: "http://127.0.0.1:1"}, b: {url: "http://127.0.0.1:2"}}
    groups: {default: {nodes: [a, b]}}
`)
	spec := SpecOf(cfg.Chains["eth"], cfg.Limits)
	spec.Parked = map[string]bool{"b": true}
	c, err := NewChain("eth", spec, slog.New(slog.DiscardHandler), telemetry.NewMetrics("test"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.StateOf(c.Node("a")); got != StateUnknown {
		t.Errorf("unverified node: %q, want %q", got, StateUnknown)
	}
	if got := c.StateOf(c.Node("b")); got != StateDraining {
		t.Errorf("parked node: %q, want %q", got, StateDraining)
	}
}
