package node

import (
	"sync/atomic"
	"time"
)

// DefaultMaxRequestBytes is the largest request body sent to a node when
// its options set no limit: what geth accepts (5 MiB). A larger body gets
// HTTP 413 from geth and a connection reset from anvil.
const DefaultMaxRequestBytes = 5 << 20

// largeRequest is the body size above which a broken connection is blamed
// on the request, not the node: nodes cut such uploads (anvil resets above
// about 3–5 MB), and a client must not be able to eject nodes by sending
// them.
const largeRequest = 1 << 20

// attemptFactor multiplies the node's recent latency into its attempt
// timeout: a healthy node answers well inside four times its p99.
const attemptFactor = 4

// liveness is what tells a frozen node (accepts connections, answers
// nothing) from a node that is merely slow on some requests. A timeout
// counts against the node only when the node showed no sign of life —
// no answer to any request or probe — since the timed-out exchange began;
// a node that keeps answering other calls while one call is slow is
// serving, and the slow call is the request's doing.
type liveness struct {
	timeout atomic.Int64 // ns: the current attempt timeout (0: none)
	alive   atomic.Int64 // unix ns of the last answer of any kind
	stalls  atomic.Int32 // consecutive timeouts without a sign of life
}

// AttemptTimeout is how long one attempt may wait for this node's answer
// before the call is tried elsewhere: attemptFactor × the node's recent
// p99 (or its latency average when higher), kept between the chain's
// attempt_timeout min and max. 0 means no per-attempt timeout. It is
// recomputed by the checker on every tick, so reading it costs one load.
func (n *Node) AttemptTimeout() time.Duration { return time.Duration(n.live.timeout.Load()) }

// refreshAttemptTimeout recomputes AttemptTimeout from the recent figures.
func (n *Node) refreshAttemptTimeout() {
	lo, hi := n.opts.AttemptTimeoutMin, n.opts.AttemptTimeoutMax
	if hi <= 0 {
		n.live.timeout.Store(0)
		return
	}
	base := max(n.stats.quantile(0.99), n.Latency())
	n.live.timeout.Store(int64(min(max(attemptFactor*base, lo), hi)))
}

// sawLife records that the node answered something (any HTTP answer).
func (n *Node) sawLife(now time.Time) { n.live.alive.Store(now.UnixNano()) }

// stallWindow is how long a node must have answered nothing before
// timeouts eject it: one poll interval (so a healthy node's probe has had
// its chance to answer) plus the shortest attempt timeout.
func (n *Node) stallWindow() time.Duration {
	lo := n.opts.AttemptTimeoutMin
	if lo <= 0 {
		lo = 500 * time.Millisecond
	}
	return n.opts.PollInterval + lo
}

// lateLimit is how late after its deadline a timeout may be noticed and
// still be blamed on the node. A timeout noticed later says the gateway
// itself was starved of CPU (every node then looks silent at once), and
// must not eject healthy nodes.
const lateLimit = 100 * time.Millisecond

// timedOut judges a timeout of an exchange that began at start and was
// noticed late after its deadline. It reports whether the timeout was
// counted against the node.
func (n *Node) timedOut(start, now time.Time, late time.Duration, err *Error) bool {
	if late > lateLimit {
		return false
	}
	last := n.live.alive.Load()
	if last >= start.UnixNano() {
		// The node answered something while this call waited: it is
		// alive, and this call is just slow.
		n.live.stalls.Store(0)
		err.ByRequest = true
		return false
	}
	n.errors.Add(1)
	n.stats.observe(0, true)
	stalls := n.live.stalls.Add(1)
	if int(stalls) >= n.threshold() && now.Sub(time.Unix(0, last)) >= n.stallWindow() && n.State() == StateOK {
		n.setState(StateEjected)
		n.log.Warn("node ejected", "reason", "stopped answering: "+err.Error(),
			"consecutive_timeouts", stalls, "silent_for", now.Sub(time.Unix(0, last)).Round(time.Millisecond).String())
	}
	return true
}

// Abandon lets one goroutine give up on another's call to a node (a hedge
// or a quorum member won): the worker slot the call holds is freed at
// once, the node is not judged by the abandoned exchange, and its answer,
// if one still comes, is dropped. The zero value is ready; use it once.
type Abandon struct {
	state atomic.Int32 // abandonIdle → abandonHeld → abandonDone
	n     atomic.Pointer[Node]
}

const (
	abandonIdle int32 = iota
	abandonHeld
	abandonDone
)

// hold marks the slot taken; false when the call was abandoned already.
func (a *Abandon) hold(n *Node) bool {
	a.n.Store(n)
	return a.state.CompareAndSwap(abandonIdle, abandonHeld)
}

// finish marks the exchange over; false when it was abandoned meanwhile
// (the slot is already free).
func (a *Abandon) finish() bool { return a.state.CompareAndSwap(abandonHeld, abandonDone) }

// Abandon gives up on the call: it frees the call's worker slot now if the
// call holds one, and keeps a call still waiting from starting.
func (a *Abandon) Abandon() {
	if a.state.Swap(abandonDone) == abandonHeld {
		if n := a.n.Load(); n != nil {
			n.inflight.Add(-1)
			n.slots.Release()
		}
	}
}
