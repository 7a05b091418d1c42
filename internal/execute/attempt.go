package execute

import (
	"context"
	"errors"
	"time"

	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/relay"
)

// record appends a to rec, which may be nil.
func record(rec *relay.Record, a relay.Attempt) {
	if rec != nil {
		rec.AddAttempt(a)
	}
}

// answeredAttempt is an attempt the node answered: with a result when
// rpcErr is nil, else with an error object, counted as errOutcome
// (OutcomeRPCError, or OutcomeNotYet when another node may answer).
func answeredAttempt(name string, start time.Time, rpcErr *jsonrpc.Error, errOutcome relay.Outcome, size int) relay.Attempt {
	a := relay.Attempt{Node: name, Start: start, Latency: time.Since(start), Outcome: relay.OutcomeOK, Bytes: size}
	if rpcErr != nil {
		a.Outcome, a.Code = errOutcome, rpcErr.Code
	}
	return a
}

// failedAttempt is an attempt that got no JSON-RPC answer.
func failedAttempt(ctx context.Context, name string, start time.Time, err error) relay.Attempt {
	a := relay.Attempt{Node: name, Start: start, Latency: time.Since(start), Outcome: relay.OutcomeTransport}
	ne, ok := node.AsError(err)
	switch {
	case ok && ne.Kind == node.KindTimeout, errors.Is(err, context.DeadlineExceeded):
		a.Outcome, a.ErrKind = relay.OutcomeTimeout, "timed out"
	case errors.Is(err, context.Canceled) || ctx.Err() == context.Canceled:
		a.Outcome, a.ErrKind = relay.OutcomeCanceled, "canceled"
	case ok:
		a.ErrKind = errKind(ne)
	default:
		a.ErrKind = "failed"
	}
	return a
}

// errKind names a node failure without formatting (the hot path must not
// allocate for it). The texts follow node.Error's.
func errKind(ne *node.Error) string {
	switch ne.Kind {
	case node.KindConnect:
		return "connection failed"
	case node.KindQueueFull:
		return "node queue full"
	case node.KindTransport:
		return "connection lost"
	case node.KindTimeout:
		return "timed out"
	case node.KindHTTPStatus:
		switch ne.Status {
		case 429:
			return "HTTP 429"
		case 500:
			return "HTTP 500"
		case 502:
			return "HTTP 502"
		case 503:
			return "HTTP 503"
		case 504:
			return "HTTP 504"
		}
		return "bad HTTP status"
	case node.KindTooLarge:
		return "response too large"
	case node.KindBadResponse:
		return "malformed response"
	case node.KindShed:
		return "no worker slot before the deadline"
	}
	return "failed"
}

// answerOutcome is the outcome of a node's answer.
func answerOutcome(rpcErr *jsonrpc.Error) relay.Outcome {
	if rpcErr != nil {
		return relay.OutcomeRPCError
	}
	return relay.OutcomeOK
}
