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
}

// Error is a failure of one upstream call. Its Error text names the node
// but never its URL, so it may be shown to clients; the wrapped cause
// (which may contain addresses) is for logs only.
type Error struct {
	Node   string
	Kind   Kind
	Status int  // HTTP status for KindHTTPStatus
	Sent   bool // the request may have reached the node
	Cause  error
}

func (e *Error) Error() string {
	if e.Kind == KindHTTPStatus {
		return fmt.Sprintf("node %s: HTTP %d", e.Node, e.Status)
	}
	return "node " + e.Node + ": " + kindText[e.Kind]
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
