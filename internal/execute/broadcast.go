package execute

// Write broadcast (broadcast_writes): eth_sendRawTransaction goes to every
// healthy node of the group at once, so the transaction reaches every
// pool without waiting for gossip. The first success is returned; a
// node's "already known" (or "nonce too low") for the same transaction
// counts as success for it. Every node's result is in the record.

import (
	"context"
	"strings"
	"time"

	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/schedule"
)

// alreadyHas reports a node's answer that it already holds the
// transaction. Nodes say so only in words (geth "already known", "known
// transaction", erigon "ALREADY_EXISTS"; "nonce too low" once the
// transaction is mined), so this is the one place message text decides:
// it never makes the gateway send anything again, it only labels a
// result in the record.
func alreadyHas(e *jsonrpc.Error) bool {
	m := strings.ToLower(e.Message)
	return strings.Contains(m, "already known") || strings.Contains(m, "known transaction") ||
		strings.Contains(m, "already exists") || strings.Contains(m, "nonce too low")
}

func (e *Executor) broadcast(ctx context.Context, c *fleet.Chain, g *fleet.Group, class schedule.Class, req *jsonrpc.Request,
	body []byte, deadline time.Time, rec *relay.Record) Answer {
	var nodes []*node.Node
	for _, n := range g.Nodes {
		if c.Selectable(n) {
			nodes = append(nodes, n)
		}
	}
	if len(nodes) == 0 {
		return Answer{Err: errNoNode, Outcome: relay.OutcomeFailed}
	}
	if rec != nil {
		rec.Broadcast = true
	}
	type result struct {
		i    int
		resp *node.Response
		err  error
		end  time.Time
	}
	bctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	ch := make(chan result, len(nodes))
	atts := make([]relay.Attempt, len(nodes))
	for i, n := range nodes {
		atts[i] = relay.Attempt{Node: n.Name(), Start: time.Now(), Hedge: i > 0}
		go func() {
			// Bounded by the node's attempt timeout: the transaction is
			// out to every node anyway, one frozen node must not hold the
			// answer.
			resp, err := n.Send(bctx, &node.Call{Class: class, Deadline: deadline, Timeout: n.AttemptTimeout(), Body: body})
			ch <- result{i: i, resp: resp, err: err, end: time.Now()}
		}()
	}
	var (
		win, firstErr *node.Response
		winner        string
		lastErr       error
	)
	for range nodes {
		r := <-ch
		a := &atts[r.i]
		a.Latency = r.end.Sub(a.Start)
		if r.err != nil {
			describe(a, r.err)
			lastErr = r.err
			continue
		}
		a.Bytes = len(r.resp.Body)
		resp, serr := jsonrpc.ScanResponse(r.resp.Body)
		switch {
		case serr != nil:
			a.Outcome, a.ErrKind = relay.OutcomeTransport, "malformed answer"
			r.resp.Release()
		case resp.Err == nil:
			a.Outcome = relay.OutcomeOK
			if win == nil {
				win, winner = r.resp, a.Node
			} else {
				r.resp.Release()
			}
		case alreadyHas(resp.Err):
			a.Outcome, a.Code, a.ErrKind = relay.OutcomeOK, resp.Err.Code, "already has it"
			if firstErr == nil { // what a node would say if no node took it new
				firstErr = r.resp
			} else {
				r.resp.Release()
			}
		default:
			a.Outcome, a.Code = relay.OutcomeRPCError, resp.Err.Code
			if firstErr == nil {
				firstErr = r.resp
			} else {
				r.resp.Release()
			}
		}
	}
	if rec != nil {
		for _, a := range atts {
			rec.AddAttempt(a)
		}
		rec.Winner = winner
	}
	switch {
	case win != nil:
		firstErr.Release()
		return Answer{Body: win.Body, resp: win, Outcome: relay.OutcomeOK, Node: winner, Attempts: len(nodes)}
	case firstErr != nil:
		return Answer{Body: firstErr.Body, resp: firstErr, Outcome: relay.OutcomeRPCError, Attempts: len(nodes)}
	}
	return Answer{Err: gatewayError(ctx, lastErr, true), Outcome: relay.OutcomeFailed, Attempts: len(nodes)}
}
