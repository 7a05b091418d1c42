// Package fleet is the live state of each chain: its nodes, its groups and
// its best head. It turns config (plus run-time changes) into running nodes,
// applies changes without disturbing unchanged nodes, and keeps the facts
// selection needs (heads, lag) current as nodes report.
//
// One file per concept: chain.go (the Chain), topology.go (specs and
// Apply, the snapshot requests read), heads.go (best head, lag,
// selectability, node states, the eth_blockNumber clamp), lifecycle.go
// (node checkers start and stop), outcome.go and collector.go (metrics).
package fleet

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/reputation"
	"github.com/rpcgate/rpcgate/internal/telemetry"
)

// Chain is one served chain. Its topology (settings, nodes, groups) is an
// immutable snapshot swapped atomically by Apply, so a request sees one
// consistent view and in-flight requests keep the nodes they hold.
type Chain struct {
	Name string

	log     *slog.Logger
	metrics *telemetry.Metrics
	topo    atomic.Pointer[topology]

	best   atomic.Uint64 // best head among healthy nodes
	served atomic.Uint64 // highest eth_blockNumber answered

	mu   sync.Mutex // serialises Apply, checker start/stop and recompute
	ctx  context.Context
	runs map[*node.Node]context.CancelFunc
	wg   sync.WaitGroup

	onState atomic.Pointer[func(c *Chain, n *node.Node, from, to node.State)]

	rep       *reputation.Book // node scores and quarantine (relaying.go)
	broadcast atomic.Bool      // broadcast_writes
}

// NewChain builds a chain from its spec; checkers start with Start.
func NewChain(name string, spec Spec, log *slog.Logger, m *telemetry.Metrics) (*Chain, error) {
	c := &Chain{Name: name, log: log.With("chain", name), metrics: m, runs: map[*node.Node]context.CancelFunc{},
		rep: reputation.New(reputation.Settings{}, nil)}
	if err := c.Apply(spec); err != nil {
		return nil, err
	}
	return c, nil
}
