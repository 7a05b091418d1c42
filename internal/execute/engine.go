package execute

import (
	"context"
	"sync"
	"time"

	"github.com/rpcgate/rpcgate/internal/evm"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/schedule"
)

// The attempt engine. One run is one call or one batch part: the engine
// picks nodes (group, fallbacks, block requirement), starts attempts as
// the Strategy says, judges each answer through the work's own rules
// (single call or batch part), records every attempt, and stops when the
// strategy says the call is decided or nothing more may be tried.
//
// Attempts the strategy runs one at a time run in the caller's goroutine:
// no goroutine, channel or timer exists on that path. Only when a strategy
// wants attempts side by side (hedging, quorum) does the engine start
// goroutines; the coordinator (the caller) alone judges answers and
// writes the record, so work state needs no locks, and when the call is
// decided it abandons the attempts still in flight, which frees their
// worker slots at once.
type run struct {
	e        *Executor
	c        *fleet.Chain
	g        *fleet.Group
	class    schedule.Class
	ctx      context.Context
	deadline time.Time
	log      attemptLog

	t        tried
	fellBack bool
	lastErr  error
	started  int
	newest   time.Time // start of the newest attempt

	hedges int           // attempts started while another was in flight
	winner relay.Attempt // the attempt whose answer won (Node "" if none)

	one  single // the work: a single call ...
	part *part  // ... or, when set, a batch part
}

// attemptLog is where attempts are written: the request's record (nil:
// nowhere) and, for batches, the result's list of nodes. mu is set when
// several runs share them (batch parts run side by side).
type attemptLog struct {
	mu  *sync.Mutex
	rec *relay.Record
	res *BatchResult
}

// add appends a and returns its index in the record (-1: no record).
func (l *attemptLog) add(a relay.Attempt) int {
	if l.mu != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
	}
	if l.res != nil {
		l.res.usedLocked(a.Node)
	}
	if l.rec == nil {
		return -1
	}
	l.rec.AddAttempt(a)
	return len(l.rec.Attempts()) - 1
}

// set completes the attempt at index i, reserved by add when it started:
// attempts stay in the order they started even when they end out of order.
func (l *attemptLog) set(i int, a relay.Attempt) {
	if i < 0 {
		return
	}
	if l.mu != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
	}
	l.rec.Attempts()[i] = a
}

// next is what the next attempt sends, the block it needs, and whether
// it must not be sent twice; body is nil when nothing is left to send.
func (r *run) next(dst []byte) (body []byte, ref evm.BlockRef, once bool) {
	if r.part != nil {
		return r.part.next(dst)
	}
	return r.one.next()
}

// once reports that what is left must not be sent twice.
func (r *run) once() bool {
	if r.part != nil {
		return r.part.once()
	}
	return r.one.write || r.one.notify
}

// judge reads one finished attempt into a verdict and fills in a.
func (r *run) judge(n *node.Node, resp *node.Response, err error, a *relay.Attempt) Verdict {
	a.Latency = time.Since(a.Start)
	if err != nil {
		r.lastErr = err
		describe(a, err)
		if a.Outcome == relay.OutcomeTimeout || a.Outcome == relay.OutcomeTransport {
			r.c.Reputation().Failed(n.Name(), a.Outcome == relay.OutcomeTimeout)
		}
		if r.part != nil {
			return r.part.failed(err)
		}
		return r.one.failed(err)
	}
	a.Bytes = len(resp.Body)
	var v Verdict
	if r.part != nil {
		v, err = r.part.answered(n, resp, a)
	} else {
		v, err = r.one.answered(n, resp, a)
	}
	if err != nil {
		r.lastErr = err
		if a.Outcome == relay.OutcomeNone {
			describe(a, err)
		}
	}
	return v
}

// describe fills an attempt's outcome from a failed exchange.
func describe(a *relay.Attempt, err error) {
	ne, ok := node.AsError(err)
	switch {
	case !ok:
		a.Outcome, a.ErrKind = relay.OutcomeTransport, "error"
	case ne.Kind == node.KindTimeout:
		a.Outcome, a.ErrKind = relay.OutcomeTimeout, ne.KindText()
	case ne.Kind == node.KindCanceled:
		a.Outcome = relay.OutcomeCanceled
	default:
		a.Outcome, a.ErrKind = relay.OutcomeTransport, ne.KindText()
	}
}

// exec runs the work to its end.
func (r *run) exec(s Strategy) {
	var (
		fl  *flight // made only when attempts run side by side
		buf []byte
	)
	for {
		inFlight := 0
		if fl != nil {
			inFlight = len(fl.live)
		}
		since := time.Duration(0)
		if !r.newest.IsZero() {
			since = time.Since(r.newest)
		}
		once := r.once()
		p := Progress{InFlight: inFlight, Started: r.started, Since: since, Once: once}
		start, again := s.Launch(p)
		launched := false
		for ; start > 0; start-- {
			if r.started >= r.c.MaxAttempts() || r.ctx.Err() != nil {
				break
			}
			var (
				body []byte
				ref  evm.BlockRef
			)
			if fl == nil && again == 0 && start == 1 {
				body, ref, once = r.next(buf[:0])
				buf = body
			} else {
				body, ref, once = r.next(nil) // a buffer of its own: it outlives this loop
			}
			if body == nil {
				break
			}
			n := r.pick(ref)
			if n == nil {
				break
			}
			launched = true
			call := node.Call{Class: r.class, Deadline: r.deadline, Timeout: r.attemptTimeout(n, ref, once), Body: body}
			a := relay.Attempt{Node: n.Name(), Start: time.Now(), Hedge: inFlight > 0}
			if a.Hedge {
				r.hedges++
				call.NoQueue = true // a hedge never queues (schedule.Slots.TryAcquire)
			}
			r.newest = a.Start
			if fl == nil && again == 0 && start == 1 {
				// One at a time: in this goroutine.
				resp, err := n.Send(r.ctx, &call)
				v := r.judge(n, resp, err, &a)
				r.note(a, v)
				r.log.add(a)
				if s.Settle(Progress{Started: r.started, Once: once}, v) {
					return
				}
				continue
			}
			if fl == nil {
				fl = &flight{done: make(chan *inflight, r.c.MaxAttempts())}
			}
			fl.launch(r.ctx, n, call, a, r.log.add(a))
			inFlight++
		}
		if fl == nil || len(fl.live) == 0 {
			if !launched {
				return
			}
			continue
		}
		f, ok := fl.wait(r.ctx, again)
		if !ok {
			if isDone(r.ctx) { // the client left
				r.abandon(fl)
				return
			}
			continue
		}
		v := r.judge(f.n, f.resp, f.err, &f.a)
		r.note(f.a, v)
		r.log.set(f.slot, f.a)
		if s.Settle(Progress{InFlight: len(fl.live), Started: r.started, Once: once}, v) {
			r.abandon(fl)
			return
		}
	}
}

// note remembers the winning attempt.
func (r *run) note(a relay.Attempt, v Verdict) {
	if v == Won {
		r.winner = a
	}
}

func isDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// pick chooses the node for the next attempt and counts retries and
// fallbacks.
func (r *run) pick(ref evm.BlockRef) *node.Node {
	n, grp := r.e.pick(r.c, r.g, ref, &r.t)
	if n == nil {
		return nil
	}
	r.t.add(n)
	if r.started > 0 {
		r.g.CountRetry()
	}
	if grp != r.g && !r.fellBack {
		r.fellBack = true
		r.g.CountFallback()
	}
	r.started++
	return n
}

// attemptTimeout is how long this attempt may wait for n before the call
// moves on. Calls that must not be sent twice are never abandoned (a
// second node could not be tried anyway), and the last attempt a call can
// make waits for the request's deadline: a slow answer is better than
// none.
func (r *run) attemptTimeout(n *node.Node, ref evm.BlockRef, once bool) time.Duration {
	d := n.AttemptTimeout()
	if d <= 0 || once || r.started >= r.c.MaxAttempts() || !r.e.another(r.c, r.g, &r.t) {
		return 0
	}
	return d
}

// flight is the attempts running side by side, each in its goroutine.
type flight struct {
	mu     sync.Mutex
	closed bool
	done   chan *inflight // finished attempts, for the coordinator
	live   []*inflight    // started and not yet judged
}

type inflight struct {
	n       *node.Node
	a       relay.Attempt
	slot    int // its index in the record
	abandon node.Abandon
	resp    *node.Response
	err     error
}

func (fl *flight) launch(ctx context.Context, n *node.Node, call node.Call, a relay.Attempt, slot int) {
	f := &inflight{n: n, a: a, slot: slot}
	call.Abandon = &f.abandon
	// The attempt may outlive the request: an abandoned exchange runs on
	// until its own deadline (fasthttp cannot cut it short), while the
	// client's body buffer goes back to the listener's pool as soon as the
	// request is answered and is reused for the next request on that
	// connection. The goroutine sends a copy it owns.
	call.Body = append([]byte(nil), call.Body...)
	fl.live = append(fl.live, f)
	go func() {
		resp, err := n.Send(ctx, &call)
		fl.mu.Lock()
		defer fl.mu.Unlock()
		if fl.closed {
			resp.Release()
			return
		}
		f.resp, f.err = resp, err
		fl.done <- f // buffered for every attempt: never blocks
	}()
}

// wait returns the next finished attempt, or false when again passed (or
// the client left) first.
func (fl *flight) wait(ctx context.Context, again time.Duration) (*inflight, bool) {
	var tc <-chan time.Time
	if again > 0 {
		t := time.NewTimer(again)
		defer t.Stop()
		tc = t.C
	}
	select {
	case f := <-fl.done:
		fl.forget(f)
		return f, true
	case <-tc:
		return nil, false
	case <-ctx.Done():
		return nil, false
	}
}

func (fl *flight) forget(f *inflight) {
	for i, x := range fl.live {
		if x == f {
			fl.live = append(fl.live[:i], fl.live[i+1:]...)
			return
		}
	}
}

// abandon gives up on every attempt still running, freeing their worker
// slots now, and records them as canceled; answers that came in but were
// not judged are dropped the same way.
func (r *run) abandon(fl *flight) {
	fl.mu.Lock()
	fl.closed = true
	for {
		select {
		case f := <-fl.done:
			f.resp.Release()
		default:
			goto drained
		}
	}
drained:
	fl.mu.Unlock()
	now := time.Now()
	for _, f := range fl.live {
		f.abandon.Abandon()
		f.a.Outcome, f.a.Latency = relay.OutcomeCanceled, now.Sub(f.a.Start)
		r.log.set(f.slot, f.a)
	}
	fl.live = nil
}
