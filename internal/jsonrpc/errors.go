package jsonrpc

import "strconv"

// Error codes from the JSON-RPC 2.0 specification.
const (
	CodeParse          = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternal       = -32603
)

// Gateway error codes: answers rpcgate makes itself, in the JSON-RPC
// server-error range, each with its HTTP status. Every transport answers
// with the same codes (the HTTP status applies to HTTP only).
const (
	CodeUnknownChain = -32001 // HTTP 404: no chain at this path or host
	CodeNoNode       = -32002 // HTTP 503: no usable node in the group or its fallbacks
	CodeTimeout      = -32003 // HTTP 504: the deadline passed before any node answered
	CodeUpstream     = -32004 // HTTP 502: every attempt failed
	CodeLimited      = -32005 // HTTP 429: a rate limit or quota (EIP-1474 "limit exceeded")
	CodeUnauthorized = -32006 // HTTP 401: missing, unknown or disabled API key
	CodeForbidden    = -32007 // HTTP 403: the key's plan does not cover this chain
	CodeOverloaded   = -32008 // HTTP 503: load shed (queues full, or the deadline cannot be met)
	CodeDispute      = -32010 // HTTP 502/503: compared nodes disagree, or too few to compare (issue 9)
)

// Error is a JSON-RPC error object: one the gateway answers with, or one a node
// answered with (then Data holds the node's raw "data" member, untouched).
type Error struct {
	Code    int
	Message string
	Data    []byte // raw JSON, or nil when absent
}

func (e *Error) Error() string {
	return "jsonrpc error " + strconv.Itoa(e.Code) + ": " + e.Message
}

// ErrorCode returns the JSON-RPC error code.
func (e *Error) ErrorCode() int { return e.Code }

// The reasons an element of a client body is not a valid request. They are
// shared values so that decoding an invalid element does not allocate: treat
// every *Error returned by Decode as read-only.
var (
	errNotObject  = &Error{Code: CodeInvalidRequest, Message: "invalid request: not an object"}
	errVersion    = &Error{Code: CodeInvalidRequest, Message: `invalid request: "jsonrpc" must be "2.0"`}
	errMethod     = &Error{Code: CodeInvalidRequest, Message: `invalid request: "method" must be a non-empty string`}
	errParams     = &Error{Code: CodeInvalidRequest, Message: `invalid request: "params" must be an array or an object`}
	errID         = &Error{Code: CodeInvalidRequest, Message: `invalid request: "id" must be a number, a string or null`}
	errDuplicate  = &Error{Code: CodeInvalidRequest, Message: "invalid request: duplicate member"}
	errSpelling   = &Error{Code: CodeInvalidRequest, Message: `invalid request: a member name differs from "jsonrpc", "method", "params" or "id" only in case or escapes; spell it exactly`}
	errEmptyBatch = &Error{Code: CodeInvalidRequest, Message: "empty batch"}
	errNotRequest = &Error{Code: CodeInvalidRequest, Message: "invalid request: body is neither an object nor an array"}
	errTooDeep    = &Error{Code: CodeInvalidRequest, Message: "invalid request: nesting deeper than " + strconv.Itoa(MaxDepth) + " levels"}
)

const errBatchTemplate = "batch of %d exceeds the limit of %d"
