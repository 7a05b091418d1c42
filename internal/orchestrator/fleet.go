package orchestrator

import (
	"context"

	"github.com/rpcgate/rpcgate/internal/nodespec"
)

// Fleet is what the orchestrator needs from the gateway: facts to verify
// against, and the one admission path for nodes (the admin API's, with its
// guards), which stores the change in the registry so that every replica
// sharing it applies it.
type Fleet interface {
	// Chain returns what verification compares a joining node with, or
	// false for a chain the config does not define.
	Chain(name string) (ChainInfo, bool)
	// Guard refuses a node that may not be dialled at all (the gateway's
	// own listeners, link-local or metadata addresses, hosts outside
	// admin.allow_node_hosts). It runs before verification dials the node.
	Guard(ctx context.Context, chain string, spec nodespec.Spec) error
	// Admit adds the node, or replaces one the orchestrator added before,
	// with the source "orchestrator". A node of that name from the config
	// or the admin API is never replaced.
	Admit(ctx context.Context, chain string, spec nodespec.Spec) error
	// Retire drains an orchestrator node (no new requests) and removes it
	// once its in-flight requests are done. It returns when the node is
	// gone, or when ctx ends.
	Retire(ctx context.Context, chain, name string) error
	// ObserveHead is pushed health: a node reported head h (ethstats block
	// report, agent heartbeat), sooner than the next poll would see it.
	ObserveHead(chain, name string, h uint64)
	// ChainNames lists the configured chains, sorted.
	ChainNames() []string
	// Known reports whether the chain has a node of that name, from any
	// source (ethstats reports are matched to nodes by name).
	Known(chain, name string) bool
}

// ChainInfo is a chain as verification sees it.
type ChainInfo struct {
	ChainID uint64
	MaxLag  uint64
	// BestHead is the highest head any of the chain's nodes reports.
	BestHead uint64
	// References are serving nodes to compare a joining node with (block 0
	// and the block 16 below the head), best first. Nodes still on
	// probation are not among them.
	References []nodespec.Spec
}
