// Package status serves the public status page: an HTML page (assets
// embedded from package web) and the JSON it renders, /status.json, built
// from the gateway's live view of each chain plus uptime and incidents
// computed from the node-event history.
//
// Nothing here may reveal how nodes are reached: the views carry no URL,
// header or address, only names an operator chose for the public.
package status

import (
	"time"

	"github.com/rpcgate/rpcgate/internal/fleet"
)

// Node states as shown on the page: fleet's names (fleet.Chain.StateOf).
const (
	StateOK         = fleet.StateOK
	StateLagging    = fleet.StateLagging
	StateEjected    = fleet.StateEjected
	StateDraining   = fleet.StateDraining
	StateWrongChain = fleet.StateWrongChain
	StateUnknown    = fleet.StateUnknown
	// Quarantined nodes lost disputes; they are out of service.
	StateQuarantined = fleet.StateQuarantined
	StateShadow      = fleet.StateShadow
)

// NodeView is the public picture of one node. Keep it free of URLs and
// headers: it is published as is.
type NodeView struct {
	Name  string
	State string // one of the State* constants
	Head  uint64
	Lag   uint64 // blocks behind the chain's best head
	// LatencyP50 and LatencyP99 are response-time estimates; zero means
	// unknown and is shown as such.
	LatencyP50, LatencyP99 time.Duration
	InFlight               int64
	ErrorRate              float64 // failed ÷ all upstream calls, 0..1
	// Score is the node's reputation (1 neutral, 0 worst, 2 best).
	Score float64
}

// NodeReport is what a node says about itself (ethstats, or its agent):
// client and version, peers, pending transactions. A nil count is unknown.
type NodeReport struct {
	Client         string
	Peers, Pending *int
}

// ChainView is the public picture of one chain.
type ChainView struct {
	Name     string
	BestHead uint64
	Up       int // nodes that serve traffic now
	Total    int
	Nodes    []NodeView
}

// isUp says whether a node in state s counts as available for uptime and
// incidents, and known is false for a state that says nothing yet
// (unknown: not verified). Lagging and draining nodes are alive (one is
// catching up, the other was taken out by the operator), so they are not
// incidents; ejected and wrong-chain nodes are.
func isUp(s string) (up, known bool) {
	switch s {
	case StateOK, StateLagging, StateDraining:
		return true, true
	case StateEjected, StateWrongChain, StateQuarantined, StateShadow:
		return false, true
	default:
		return false, false
	}
}
