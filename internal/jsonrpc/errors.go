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
