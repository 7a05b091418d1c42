// Package node is the machinery for one upstream full node: its pooled
// HTTP transport, worker slots, latency statistics and the background
// checker that tracks its head and health. Policy (which node to use, when
// to retry) lives elsewhere.
package node

import (
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/rpcgate/rpcgate/internal/nodespec"
	"github.com/rpcgate/rpcgate/internal/schedule"
)

// Options carry the chain-level settings a node needs.
type Options struct {
	Chain            string
	ChainID          uint64
	PollInterval     time.Duration
	ProbeTimeout     time.Duration
	FailThreshold    int
	BackoffMin       time.Duration
	BackoffMax       time.Duration
	MaxResponseBytes int64
	// MaxRequestBytes is the largest request body sent to the node; New
	// takes it from the spec when zero. Larger calls are refused before
	// they are sent (KindRequestTooLarge).
	MaxRequestBytes int64
	// AttemptTimeoutMin and AttemptTimeoutMax bound the per-attempt
	// timeout derived from the node's latency (see AttemptTimeout). A zero
	// AttemptTimeoutMax means no per-attempt timeout.
	AttemptTimeoutMin time.Duration
	AttemptTimeoutMax time.Duration
	// Logger should already carry the chain; the node adds its own name.
	Logger *slog.Logger
	// Observer is told about head and state changes (metrics, best head).
	Observer Observer
	// Schedule orders waiting requests by priority class. Its per-class
	// queue limits are capped by the node's own queue setting.
	Schedule schedule.Policy
}

// Observer learns about a node's changes. Calls come from the node's
// checker goroutine and from request goroutines; they must be cheap.
type Observer interface {
	HeadChanged(n *Node, head uint64)
	StateChanged(n *Node, from, to State)
}

// Node is one upstream. Live state sits in atomics; a Node must not be
// copied after New.
type Node struct {
	_ noCopy

	name    string
	cfg     nodespec.Spec
	opts    Options
	up      *upstream
	slots   *schedule.Slots
	weight  float64
	log     *slog.Logger
	started time.Time

	checked  atomic.Bool // the first admission attempt has finished
	head     atomic.Uint64
	state    atomic.Uint32
	inflight atomic.Int64
	ewmaNs   atomic.Uint64 // float64 bits of the latency EWMA in ns
	lastObs  atomic.Int64  // unix ns of the last latency observation
	fails    atomic.Int32  // consecutive failures
	requests atomic.Uint64
	errors   atomic.Uint64
	stats    stats
	live     liveness // attempt timeout, signs of life, stalls
}

type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// New builds the node spec describes (its name is spec.Name). It does not
// start the checker; call Run. The spec is taken as it is: defaults and
// validation belong to its caller (nodespec).
func New(spec nodespec.Spec, opts Options) (*Node, error) {
	name, cfg := spec.Name, spec.Clone()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	if opts.MaxRequestBytes == 0 {
		opts.MaxRequestBytes = spec.MaxRequestBytes
	}
	workers := max(cfg.Workers, 1)
	up, err := newUpstream(cfg.URL, cfg.Headers, workers, opts.MaxResponseBytes)
	if err != nil {
		return nil, err
	}
	// The chain's logger already names the chain: adding it here again
	// wrote "chain" twice in every node line.
	n := &Node{
		name:    name,
		cfg:     cfg,
		opts:    opts,
		up:      up,
		slots:   schedule.NewSlots(workers, capQueues(opts.Schedule, cfg.Queue)),
		weight:  float64(max(cfg.Weight, 1)),
		log:     opts.Logger.With("node", name),
		started: time.Now(),
	}
	n.ewmaNs.Store(math.Float64bits(float64(5 * time.Millisecond)))
	n.live.timeout.Store(int64(opts.AttemptTimeoutMax))
	return n, nil
}

// capQueues limits each class's queue to the node's queue setting.
func capQueues(p schedule.Policy, nodeQueue int) schedule.Policy {
	for c := range p.Queue {
		if p.Queue[c] == 0 || (nodeQueue > 0 && p.Queue[c] > nodeQueue) {
			p.Queue[c] = nodeQueue
		}
	}
	return p
}

// Name is the node's configured name (never its URL).
func (n *Node) Name() string { return n.name }

// Chain is the name of the chain the node serves.
func (n *Node) Chain() string { return n.opts.Chain }

// Spec returns the node's spec (contains the URL: keep it private).
func (n *Node) Spec() nodespec.Spec { return n.cfg.Clone() }

// Head is the last block number the node reported.
func (n *Node) Head() uint64 { return n.head.Load() }

// State is the node's health state.
func (n *Node) State() State { return State(n.state.Load()) }

// InFlight is the number of requests being served by the node.
func (n *Node) InFlight() int64 { return n.inflight.Load() }

// Weight is the configured traffic weight.
func (n *Node) Weight() float64 { return n.weight }

// Latency is the exponentially weighted moving average of response times.
func (n *Node) Latency() time.Duration {
	return time.Duration(math.Float64frombits(n.ewmaNs.Load()))
}

// Requests and Errors count upstream calls and their failures.
func (n *Node) Requests() uint64 { return n.requests.Load() }
func (n *Node) Errors() uint64   { return n.errors.Load() }

// Slots exposes the node's worker slots (for scheduling metrics).
func (n *Node) Slots() *schedule.Slots { return n.slots }

// Checked reports that the node's first admission check has finished,
// whatever its outcome.
func (n *Node) Checked() bool { return n.checked.Load() }

// Usable reports whether the node may be selected at all (head and lag are
// judged by the caller, who knows the fleet's best head).
func (n *Node) Usable() bool { return n.State() == StateOK }

// Score is the cost of sending one more request here: latency × load.
// Lower is better. Weight acts on how often the node is drawn, not here.
// The latency estimate decays with the time since it was last measured
// (as in linkerd's peak EWMA), so a node that looked slow once and then
// got no traffic becomes attractive again and is measured afresh instead
// of being starved on a stale figure.
func (n *Node) Score() float64 {
	ewma := math.Float64frombits(n.ewmaNs.Load())
	if idle := time.Now().UnixNano() - n.lastObs.Load(); idle > 0 {
		ewma *= math.Exp(-float64(idle) / float64(scoreDecay))
	}
	return ewma * float64(n.inflight.Load()+1)
}

// scoreDecay is the time constant of the idle decay of the latency score.
const scoreDecay = 5 * time.Second

// SetDraining parks the node (true) or returns it to service (false).
func (n *Node) SetDraining(on bool) {
	if on {
		n.setState(StateDraining)
	} else if n.State() == StateDraining {
		n.setState(StateUnknown)
	}
}

func (n *Node) setState(s State) {
	old := State(n.state.Swap(uint32(s)))
	if old != s {
		n.opts.Observer.StateChanged(n, old, s)
	}
}

func (n *Node) setHead(h uint64) {
	if n.head.Swap(h) != h {
		n.opts.Observer.HeadChanged(n, h)
	}
}

// observeLatency folds one response time into the EWMA (alpha 0.2).
func (n *Node) observeLatency(d time.Duration) {
	for {
		old := n.ewmaNs.Load()
		v := math.Float64frombits(old)*0.8 + float64(d)*0.2
		if n.ewmaNs.CompareAndSwap(old, math.Float64bits(v)) {
			n.lastObs.Store(time.Now().UnixNano())
			return
		}
	}
}

type nopObserver struct{}

func (nopObserver) HeadChanged(*Node, uint64)        {}
func (nopObserver) StateChanged(*Node, State, State) {}
