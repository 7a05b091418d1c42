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
	Log      *slog.Logger
}

// New returns an executor using P2C selection.
func New(log *slog.Logger) *Executor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Executor{Selector: balance.P2C{}, Log: log}
}

// Answer is what goes back to the client for one call: either a node's
// response (Body aliases a pooled buffer until Release) or a gateway error.
type Answer struct {
	Body []byte
	Err  *Error
	// Node is the name of the node that answered, for logs.
	Node     string
	Attempts int
	// Outcome is OutcomeOK for a node's result, OutcomeRPCError for a
	// node's JSON-RPC error object (its code is the answering attempt's
	// Code in the relay record), OutcomeFailed for a gateway error.
	Outcome relay.Outcome
	resp    *node.Response
}

// Release frees the node response behind Body.
func (a *Answer) Release() {
	a.resp.Release()
	a.resp = nil
}

// Single runs one call, forwarding body (the client's own bytes, so the
// id needs no rewriting) and returning the answer of the first node that
// can answer it. Each upstream try is appended to rec (which may be nil).
func (e *Executor) Single(ctx context.Context, c *fleet.Chain, g *fleet.Group, class schedule.Class, req *jsonrpc.Request, body []byte, rec *relay.Record) Answer {
	deadline := time.Now().Add(c.TimeoutFor(req.Method))
	dctx := withDeadline(ctx, deadline)
	ctx, deadline = dctx, dctx.deadline
	ref := evm.Block(req.Method, req.Params)
	write := c.IsWrite(req.Method)

	var (
		t        tried
		fellBack bool
		lastErr  error
		held     *node.Response // a "not yet" answer kept in case nothing better comes
		heldBy   string
		sent     bool // a write may have reached a node
	)
	for attempt := 0; attempt < c.MaxAttempts() && ctx.Err() == nil; attempt++ {
		n, grp := e.pick(c, g, ref, &t)
		if n == nil {
			break
		}
		t.add(n)
		if attempt > 0 {
			g.CountRetry()
		}
		if grp != g && !fellBack {
			fellBack = true
			g.CountFallback()
		}
		start := time.Now()
		resp, err := n.Do(ctx, class, deadline, body)
		if err != nil {
			record(rec, failedAttempt(ctx, n.Name(), start, err))
			lastErr = err
			if ne, ok := node.AsError(err); write && (!ok || !ne.NotSent()) {
				sent = true
				break
			}
			continue
		}
		r, serr := jsonrpc.ScanResponse(resp.Body)
		if serr != nil {
			lastErr = n.ReportBadResponse(serr)
			record(rec, failedAttempt(ctx, n.Name(), start, lastErr))
			resp.Release()
			if write {
				sent = true
				break
			}
			continue
		}
		if r.Err != nil && !write && retryable(evm.Classify(r.Err)) {
			record(rec, answeredAttempt(n.Name(), start, r.Err, relay.OutcomeNotYet, len(resp.Body)))
			held.Release()
			held, heldBy = resp, n.Name()
			continue
		}
		record(rec, answeredAttempt(n.Name(), start, r.Err, relay.OutcomeRPCError, len(resp.Body)))
		held.Release()
		if r.Err == nil && req.Method == "eth_blockNumber" {
			return e.blockNumber(c, n, r, resp, t.n)
		}
		return Answer{Body: resp.Body, resp: resp, Node: n.Name(), Attempts: t.n, Outcome: answerOutcome(r.Err)}
	}
	if held != nil {
		return Answer{Body: held.Body, resp: held, Node: heldBy, Attempts: t.n, Outcome: relay.OutcomeRPCError}
	}
	return Answer{Err: gatewayError(ctx, lastErr, write && sent), Attempts: t.n, Outcome: relay.OutcomeFailed}
}

// blockNumber keeps eth_blockNumber from going backwards on this gateway:
// a node's answer is raised to the highest number already served, and a
// higher answer teaches the node's head early.
func (e *Executor) blockNumber(c *fleet.Chain, n *node.Node, r jsonrpc.Response, resp *node.Response, attempts int) Answer {
	v, ok := evm.ParseQuantity(r.Result)
	if !ok {
		return Answer{Body: resp.Body, resp: resp, Node: n.Name(), Attempts: attempts, Outcome: relay.OutcomeOK}
	}
	n.ObserveHead(v)
	served, clamped := c.ServeBlockNumber(v)
	if !clamped {
		return Answer{Body: resp.Body, resp: resp, Node: n.Name(), Attempts: attempts, Outcome: relay.OutcomeOK}
	}
	out := jsonrpc.AppendResult(nil, r.ID, evm.AppendQuantity(nil, served))
	resp.Release()
	return Answer{Body: out, Node: n.Name(), Attempts: attempts, Outcome: relay.OutcomeOK}
}

// retryable reports node errors that another node may not have.
func retryable(c evm.ErrorClass) bool {
	return c == evm.ClassNotYet || c == evm.ClassCapacity || c == evm.ClassNodeFault
}
