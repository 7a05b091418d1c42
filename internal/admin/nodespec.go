package admin

import "errors"

// SpecError is a node the shared node rules (package nodespec) refuse
// (400). Its text is exactly what `rpcgate validate` says of the same node
// in a config file, after the file:line:col.
type SpecError struct {
	// Field is the JSON field at fault (name, url, ws, weight, workers,
	// headers).
	Field string
	// Problem is the message with its hint: "msg (hint: ...)".
	Problem string
}

func (e *SpecError) Error() string { return e.Problem }

// ErrUnreachable is what a node that could not be verified for any reason
// other than its chain id is reported as: the admin caller must not learn
// whether a port is closed, open, or open to something else.
var ErrUnreachable = errors.New("node unreachable")
