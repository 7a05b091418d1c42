package execute

import (
	"context"
	"log/slog"
	"time"

	"github.com/rpcgate/rpcgate/internal/balance"
	"github.com/rpcgate/rpcgate/internal/evm"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/schedule"
)

// Executor runs calls. It is safe for concurrent use.
type Executor struct {
	Selector balance.Selector
	// Strategy, when set, decides for every call how many nodes it is
	// tried on and which answer wins. nil: each group's policy decides
	// (hedged reads unless the group turns hedging off; FirstGood for
	// writes, notifications and batches).
	Strategy Strategy
	Log      *slog.Logger
}

// New returns an executor using P2C selection and the FirstGood strategy.
func New(log *slog.Logger) *Executor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Executor{Selector: balance.P2C{}, Log: log}
}

func (e *Executor) strategy() Strategy {
	if e.Strategy == nil {
		return FirstGood{}
	}
	return e.Strategy
}

// Answer is what goes back to the client for one call: either a node's
// response (Body aliases a pooled buffer until Release) or a gateway error.
// A notification's Answer has no Body: the client gets no content.
type Answer struct {
	Body []byte
	Err  *Error
	// Outcome is OutcomeOK, OutcomeRPCError (the node answered with a
	// JSON-RPC error object) or OutcomeFailed (Err is set).
	Outcome relay.Outcome
	// Node is the name of the node that answered, for logs.
	Node     string
	Attempts int
	resp     *node.Response
}

// Release frees the node response behind Body.
func (a *Answer) Release() {
	a.resp.Release()
	a.resp = nil
}

// Single runs one call, forwarding body (the client's own bytes, so the
// id needs no rewriting) and returning the answer of the first node that
// can answer it. Every upstream try is appended to rec (nil: not
// recorded). A notification is sent once, to one node; whatever the node
// answers (geth: HTTP 200, empty body) is its acceptance.
func (e *Executor) Single(ctx context.Context, c *fleet.Chain, g *fleet.Group, class schedule.Class, req *jsonrpc.Request, body []byte, rec *relay.Record) Answer {
	deadline := time.Now().Add(c.TimeoutFor(req.Method))
	write, notify := c.IsWrite(req.Method), req.IsNotification()
	if !notify && e.Strategy == nil {
		switch {
		case write && req.Method == "eth_sendRawTransaction" && c.BroadcastWrites():
			return e.broadcast(ctx, c, g, class, req, body, deadline, rec)
		case !write:
			if p, ok := g.Consensus.For(req.Method); ok {
				if ans, done := e.compared(ctx, c, g, class, req, deadline, p, rec); done {
					return ans
				}
			}
		}
	}
	dctx := withDeadline(ctx, deadline)
	r := run{e: e, c: c, g: g, class: class, ctx: dctx, deadline: dctx.deadline, log: attemptLog{rec: rec}, one: single{
		c:      c,
		req:    req,
		body:   body,
		ref:    evm.Block(req.Method, req.Params),
		write:  c.IsWrite(req.Method),
		notify: req.IsNotification(),
	}}
	s := e.Strategy
	if s == nil {
		s = FirstGood{}
		if !write && !notify && !g.Hedge.Off && hedgeable(c, g) {
			s = Hedge{Delay: g.HedgeDelay(req.Method), Max: g.Hedge.Max + 1}
		}
	}
	r.exec(s)
	if r.winner.Node != "" {
		g.ObserveLatency(req.Method, r.winner.Latency)
		c.Reputation().Fast(r.winner.Node)
	}
	g.CountHedge(r.hedges, r.winner.Hedge)
	if rec != nil {
		rec.Winner, rec.HedgesSent, rec.HedgeWon = r.winner.Node, r.hedges, r.winner.Hedge
	}
	return r.one.finish(r.ctx, r.lastErr, r.started)
}

// single is the engine's work for one call.
type single struct {
	c      *fleet.Chain
	req    *jsonrpc.Request
	body   []byte
	ref    evm.BlockRef
	write  bool
	notify bool
	sent   bool // a write or notification may have reached a node

	ans     Answer
	rpcErr  *jsonrpc.Error // the node's error object ans carries, if any
	done    bool
	held    *node.Response // a "not yet" answer kept in case nothing better comes
	heldBy  string
	heldErr *jsonrpc.Error
}

func (s *single) next() ([]byte, evm.BlockRef, bool) {
	if s.sent {
		return nil, s.ref, true
	}
	return s.body, s.ref, s.write || s.notify
}

func (s *single) answered(n *node.Node, resp *node.Response, a *relay.Attempt) (Verdict, error) {
	if s.notify {
		// No answer is expected; anything the node sent back ends it. A
		// refusal (HTTP 4xx) is not resent either: the notification has
		// reached a node.
		resp.Release()
		s.sent, s.done = true, true
		if resp.Status >= 400 {
			err := n.Refused(resp.Status, nil)
			describe(a, err)
			s.ans = Answer{Err: gatewayError(context.Background(), err, false), Outcome: relay.OutcomeFailed, Node: n.Name()}
			return Stopped, err
		}
		a.Outcome = relay.OutcomeOK
		s.ans = Answer{Outcome: relay.OutcomeOK, Node: n.Name()}
		return Won, nil
	}
	r, serr := jsonrpc.ScanResponse(resp.Body)
	if serr != nil {
		resp.Release()
		err := n.Refused(resp.Status, serr)
		describe(a, err)
		if s.write {
			s.sent = true
			return Stopped, err
		}
		return Failed, err
	}
	if r.Err != nil {
		a.Code = r.Err.Code
		if cls := evm.Classify(r.Err); !s.write && retryable(cls) {
			a.Outcome = relay.OutcomeRPCError
			if cls == evm.ClassNotYet {
				a.Outcome = relay.OutcomeNotYet
			}
			s.held.Release()
			s.held, s.heldBy, s.heldErr = resp, n.Name(), r.Err
			return Held, nil
		}
		a.Outcome = relay.OutcomeRPCError
		s.keep(n, resp, relay.OutcomeRPCError)
		s.rpcErr = r.Err
		return Won, nil
	}
	a.Outcome = relay.OutcomeOK
	if s.req.Method == "eth_blockNumber" {
		s.blockNumber(n, r, resp)
		return Won, nil
	}
	s.keep(n, resp, relay.OutcomeOK)
	return Won, nil
}

func (s *single) keep(n *node.Node, resp *node.Response, o relay.Outcome) {
	s.held.Release()
	s.held = nil
	s.ans = Answer{Body: resp.Body, resp: resp, Outcome: o, Node: n.Name()}
	s.done = true
}

func (s *single) failed(err error) Verdict {
	if s.write || s.notify {
		if ne, ok := node.AsError(err); !ok || !ne.NotSent() {
			s.sent = true
			return Stopped
		}
	}
	return Failed
}

// finish turns the run's end into the answer.
func (s *single) finish(ctx context.Context, lastErr error, attempts int) Answer {
	switch {
	case s.done:
	case s.held != nil:
		s.ans = Answer{Body: s.held.Body, resp: s.held, Outcome: relay.OutcomeRPCError, Node: s.heldBy}
		s.rpcErr = s.heldErr
	default:
		s.ans = Answer{Err: gatewayError(ctx, lastErr, s.write && s.sent), Outcome: relay.OutcomeFailed}
	}
	s.ans.Attempts = attempts
	return s.ans
}

// blockNumber keeps eth_blockNumber from going backwards on this gateway:
// a node's answer is raised to the highest number already served, and a
// higher answer teaches the node's head early.
func (s *single) blockNumber(n *node.Node, r jsonrpc.Response, resp *node.Response) {
	v, ok := evm.ParseQuantity(r.Result)
	if !ok {
		s.keep(n, resp, relay.OutcomeOK)
		return
	}
	n.ObserveHead(v)
	served, clamped := s.c.ServeBlockNumber(v)
	if !clamped {
		s.keep(n, resp, relay.OutcomeOK)
		return
	}
	out := jsonrpc.AppendResult(nil, r.ID, evm.AppendQuantity(nil, served))
	resp.Release()
	s.held.Release()
	s.held = nil
	s.ans = Answer{Body: out, Outcome: relay.OutcomeOK, Node: n.Name()}
	s.done = true
}

// retryable reports node errors that another node may not have.
func retryable(c evm.ErrorClass) bool {
	return c == evm.ClassNotYet || c == evm.ClassCapacity || c == evm.ClassNodeFault
}

// hedgeable reports a group with a second selectable node to hedge to
// (else the plain path, without goroutines, serves).
func hedgeable(c *fleet.Chain, g *fleet.Group) bool {
	n := 0
	for _, x := range g.Nodes {
		if c.Selectable(x) {
			if n++; n == 2 {
				return true
			}
		}
	}
	return g.Fallback != nil
}
