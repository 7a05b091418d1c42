package demo

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// behaviour is what a simulated node does besides answering correctly.
type behaviour int

const (
	// steady is always at the head and answers in 1-3 ms.
	steady behaviour = iota
	// laggy stops following the head now and then, falls behind, then
	// syncs back up.
	laggy
	// flaky answers like steady, but a share of requests fail.
	flaky
)

func (b behaviour) String() string {
	switch b {
	case steady:
		return "steady"
	case laggy:
		return "laggy"
	case flaky:
		return "flaky"
	}
	return "unknown"
}

// describe is the one-line description shown by `rpcgate demo`.
func (b behaviour) describe(t tuning) string {
	switch b {
	case steady:
		return "always at the head, answers in 1-3 ms"
	case laggy:
		return "every " + t.lagEvery.String() + "-" + scale(t.lagEvery, 3, 2).String() +
			" stops following the head for about " + t.lagFor.String() + ", falls behind, then catches up"
	case flaky:
		return "fails about " + percent(t.failRate) + " of requests: HTTP 500, JSON-RPC -32603, dropped connections, " +
			t.slowDelay.String() + "-" + scale(t.slowDelay, 3, 2).String() + " stalls"
	}
	return ""
}

// tuning holds the knobs of the behaviours, from Options after defaults.
type tuning struct {
	lagEvery  time.Duration // a lag starts every [lagEvery, 1.5×lagEvery]
	lagFor    time.Duration // and lasts [0.8×lagFor, 1.2×lagFor]
	failRate  float64       // share of flaky requests that fail
	slowDelay time.Duration // a slow answer waits [slowDelay, 1.5×slowDelay]
	faultMute time.Duration // at most one fault event per faultMute
}

// latency is the node's simulated processing time for one HTTP request.
func (n *node) latency() time.Duration {
	lo, hi := time.Millisecond, 3*time.Millisecond
	switch n.kind {
	case laggy:
		hi = 5 * time.Millisecond
	case flaky:
		lo, hi = 2*time.Millisecond, 10*time.Millisecond
	}
	return n.between(lo, hi)
}

// between returns a random duration in [lo, hi].
func (n *node) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	n.rngMu.Lock()
	defer n.rngMu.Unlock()
	return lo + time.Duration(n.rng.Int64N(int64(hi-lo)+1))
}

// runLaggy is the laggy node's cycle: follow the head, stop, fall behind,
// sync back at several blocks per block time, repeat. It returns when ctx
// is done.
func (n *node) runLaggy(ctx context.Context) {
	t := n.tuning
	for {
		if !sleepCtx(ctx, n.between(t.lagEvery, scale(t.lagEvery, 3, 2))) {
			return
		}
		stuck := n.chain.Head()
		n.view.Store(stuck)
		n.events.emit("%s: stopped following the head at block %d (will fall behind)", n.name, stuck)

		if !sleepCtx(ctx, n.between(scale(t.lagFor, 4, 5), scale(t.lagFor, 6, 5))) {
			return
		}
		n.events.emit("%s: syncing again, %d blocks behind", n.name, n.chain.Head()-stuck)

		// Import one block per quarter block time: catches up at three
		// blocks per block time, like a node replaying what it missed.
		tick := time.NewTicker(max(n.chain.blockTime/4, time.Millisecond))
		for caught := false; !caught; {
			select {
			case <-ctx.Done():
				tick.Stop()
				return
			case <-tick.C:
			}
			v := n.view.Load() + 1
			if v >= n.chain.Head() {
				n.view.Store(following)
				n.events.emit("%s: caught up at block %d", n.name, n.chain.Head())
				caught = true
				continue
			}
			n.view.Store(v)
		}
		tick.Stop()
	}
}

// fault is one way a flaky node fails a request.
type fault int

const (
	faultNone     fault = iota
	faultHTTP500        // HTTP 500 with a text body
	faultRPCError       // a JSON-RPC -32603 error for every call
	faultDrop           // the connection is closed without an answer
	faultSlow           // a correct answer, 1-1.5× slowDelay late
)

func (f fault) String() string {
	switch f {
	case faultHTTP500:
		return "http-500"
	case faultRPCError:
		return "rpc-error"
	case faultDrop:
		return "drop"
	case faultSlow:
		return "slow"
	}
	return "none"
}

func (f fault) event() string {
	switch f {
	case faultHTTP500:
		return "answered HTTP 500"
	case faultRPCError:
		return "answered JSON-RPC error -32603"
	case faultDrop:
		return "dropped a connection"
	case faultSlow:
		return "stalled an answer"
	}
	return ""
}

// pickFault decides the fate of one HTTP request to a flaky node.
func (n *node) pickFault() fault {
	if n.kind != flaky || n.tuning.failRate <= 0 {
		return faultNone
	}
	n.rngMu.Lock()
	defer n.rngMu.Unlock()
	if n.faultRng.Float64() >= n.tuning.failRate {
		return faultNone
	}
	return faultHTTP500 + fault(n.faultRng.IntN(4))
}

func (n *node) slowDelay() time.Duration {
	return n.between(n.tuning.slowDelay, scale(n.tuning.slowDelay, 3, 2))
}

// reportFault emits an event for f unless one was emitted in the last
// faultMute; muted faults are counted in the next line. detail, when not
// empty, is added in parentheses.
func (n *node) reportFault(f fault, detail string) {
	n.faultMu.Lock()
	now := time.Now()
	if !n.lastFaultEvent.IsZero() && now.Sub(n.lastFaultEvent) < n.tuning.faultMute {
		n.faultsMuted++
		n.faultMu.Unlock()
		return
	}
	muted := n.faultsMuted
	n.lastFaultEvent, n.faultsMuted = now, 0
	n.faultMu.Unlock()
	line := f.event()
	if detail != "" {
		line += " (" + detail + ")"
	}
	if muted > 0 {
		line += fmt.Sprintf("; %d more faults since the last report", muted)
	}
	n.events.emit("%s: %s", n.name, line)
}

// sleepCtx waits d or until ctx is done; it reports whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func scale(d time.Duration, num, den int64) time.Duration {
	return d * time.Duration(num) / time.Duration(den)
}

func percent(f float64) string {
	return strconv.FormatFloat(f*100, 'f', -1, 64) + "%"
}
