// Package execute runs calls against a chain's nodes: it picks a node that
// can answer (healthy, in sync, has the block), enforces the deadline,
// retries on another node when the error type allows it, never sends a
// write twice once it may have reached a node, and splits batches by group
// and merges the answers back in order.
package execute

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/node"
)

// Gateway error codes live in package jsonrpc, next to the JSON-RPC
// types; these aliases keep the engine's own references short.
const (
	CodeNoNode     = jsonrpc.CodeNoNode
	CodeTimeout    = jsonrpc.CodeTimeout
	CodeUpstream   = jsonrpc.CodeUpstream
	CodeOverloaded = jsonrpc.CodeOverloaded
)

// Error is an answer the gateway makes itself because no node answered.
type Error struct {
	Code       int
	HTTPStatus int
	Message    string
	// RetryAfter, in seconds, is sent as Retry-After when > 0.
	RetryAfter int
	// Data is the error's data member (raw JSON), or nil.
	Data []byte
}

func (e *Error) Error() string  { return e.Message }
func (e *Error) ErrorCode() int { return e.Code }

var errNoNode = &Error{Code: CodeNoNode, HTTPStatus: http.StatusServiceUnavailable,
	Message: "no healthy node available for this request", RetryAfter: 1}

// gatewayError turns the last upstream failure into the client's answer.
// The text names nodes, never their URLs.
func gatewayError(ctx context.Context, last error, writeUnknown bool) *Error {
	if last == nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &Error{Code: CodeTimeout, HTTPStatus: http.StatusGatewayTimeout,
				Message: "request deadline exceeded before any node was tried"}
		}
		return errNoNode
	}
	ne, ok := node.AsError(last)
	switch {
	case writeUnknown:
		return &Error{Code: CodeUpstream, HTTPStatus: http.StatusBadGateway,
			Message: "write may have reached a node but no answer came back (" + last.Error() + "); not retried to avoid sending it twice"}
	case ok && ne.Kind == node.KindRequestTooLarge:
		return &Error{Code: jsonrpc.CodeInvalidRequest, HTTPStatus: http.StatusRequestEntityTooLarge,
			Message: "request exceeds the node limit of " + strconv.FormatInt(ne.Limit, 10) + " bytes"}
	case ok && ne.Kind == node.KindRefused && ne.Status == http.StatusRequestEntityTooLarge:
		return &Error{Code: jsonrpc.CodeInvalidRequest, HTTPStatus: http.StatusRequestEntityTooLarge,
			Message: "request refused by the node as too large (" + last.Error() + ")"}
	case ok && ne.Kind == node.KindRefused:
		return &Error{Code: jsonrpc.CodeInvalidRequest, HTTPStatus: http.StatusBadRequest,
			Message: "request refused by the node (" + last.Error() + ")"}
	case ok && ne.Kind == node.KindQueueFull:
		return &Error{Code: CodeOverloaded, HTTPStatus: http.StatusServiceUnavailable,
			Message: "all nodes are busy (queues full); try again shortly", RetryAfter: 1}
	case ok && ne.Kind == node.KindShed:
		return &Error{Code: CodeOverloaded, HTTPStatus: http.StatusServiceUnavailable,
			Message: "all nodes are busy: no worker slot before the request's deadline; try again shortly", RetryAfter: 1}
	case ok && ne.Kind == node.KindTimeout, errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &Error{Code: CodeTimeout, HTTPStatus: http.StatusGatewayTimeout,
			Message: "request deadline exceeded (last attempt: " + last.Error() + ")"}
	default:
		return &Error{Code: CodeUpstream, HTTPStatus: http.StatusBadGateway,
			Message: "all attempts failed (last: " + last.Error() + ")"}
	}
}
