package node

import (
	"errors"
	"fmt"
)

// Kind says what went wrong talking to a node. Retry decisions are made on
// the kind (and on Sent), never on error text.
type Kind uint8

const (
	// KindConnect: the connection could not be made; nothing was sent.
	KindConnect Kind = iota + 1
	// KindQueueFull: every worker slot was busy and the queue was full;
	// nothing was sent.
	KindQueueFull
	// KindTransport: the connection broke after the request may have been
	// written.
	KindTransport
	// KindTimeout: the deadline passed while waiting for the node.
	KindTimeout
	// KindHTTPStatus: the node answered with HTTP 5xx or 429.
	KindHTTPStatus
	// KindTooLarge: the node's answer exceeded max_response_bytes.
	KindTooLarge
	// KindBadResponse: the node's answer is not a JSON-RPC response.
	KindBadResponse
	// KindShed: the request's deadline could not be met waiting for a
	// worker slot; nothing was sent.
	KindShed
	// KindRequestTooLarge: the request body exceeds the node's
	// max_request_bytes; nothing was sent.
	KindRequestTooLarge
	// KindRefused: the node answered HTTP 4xx (not 429) with a body that is
	// not JSON-RPC: it refused this request (413 too large, 400 malformed).
	KindRefused
	// KindCanceled: the attempt was abandoned because another attempt won,
	// or its caller left (context canceled); never counted against the node.
	KindCanceled
)

var kindText = [...]string{
	KindConnect:     "connection failed",
	KindQueueFull:   "node queue full",
	KindTransport:   "connection lost",
	KindTimeout:     "timed out",
	KindHTTPStatus:  "bad HTTP status",
	KindTooLarge:    "response too large",
	KindBadResponse: "malformed response",
	KindShed:        "no worker slot before the deadline",

	KindRequestTooLarge: "request exceeds the node's size limit",
	KindRefused:         "request refused",
	KindCanceled:        "abandoned",
}

// Error is a failure of one upstream call. Its Error text names the node
// but never its URL, so it may be shown to clients; the wrapped cause
// (which may contain addresses) is for logs only.
type Error struct {
	Node   string
	Kind   Kind
	Status int  // HTTP status for KindHTTPStatus and KindRefused
	Sent   bool // the request may have reached the node
	// Limit is the node's max_request_bytes for KindRequestTooLarge.
	Limit int64
	// ByRequest marks a failure the request caused rather than the node
	// (a refusal, a connection cut that only large requests get, a slow
	// call while the node kept answering others): it was not counted
	// against the node's health.
	ByRequest bool
	// Attempt marks a KindTimeout of the per-attempt timeout (the request's
	// own deadline had not passed): the call may go on elsewhere.
	Attempt bool
	Cause   error
}

func (e *Error) Error() string {
	switch e.Kind {
	case KindHTTPStatus, KindRefused:
		return fmt.Sprintf("node %s: HTTP %d", e.Node, e.Status)
	case KindRequestTooLarge:
		return fmt.Sprintf("node %s: request exceeds the node limit of %d bytes", e.Node, e.Limit)
	}
	return "node " + e.Node + ": " + kindText[e.Kind]
}

// KindText is a short fixed description of the failure, without the
// node's name (for records and labels).
func (e *Error) KindText() string {
	switch e.Kind {
	case KindHTTPStatus, KindRefused:
		return httpText(e.Status)
	}
	if int(e.Kind) < len(kindText) {
		return kindText[e.Kind]
	}
	return "error"
}

func httpText(status int) string {
	switch status {
	case 400:
		return "HTTP 400"
	case 413:
		return "HTTP 413"
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
	return fmt.Sprintf("HTTP %d", status)
}

func (e *Error) Unwrap() error { return e.Cause }

// NotSent reports that the request provably never left the gateway, so even
// a write may be tried elsewhere.
func (e *Error) NotSent() bool { return !e.Sent }

// AsError unwraps err to a *Error.
func AsError(err error) (*Error, bool) {
	var ne *Error
	ok := errors.As(err, &ne)
	return ne, ok
}
