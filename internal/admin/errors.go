package admin

import "errors"

// Errors of node operations, mapped to HTTP statuses by the API.
var (
	ErrUnknownChain = errors.New("unknown chain")       // 404
	ErrUnknownNode  = errors.New("unknown node")        // 404
	ErrNodeExists   = errors.New("node already exists") // 409
)

// InvalidError is a request field that is wrong (400).
type InvalidError struct{ Field, Msg string }

func (e *InvalidError) Error() string { return e.Field + " " + e.Msg }

// VerifyError is a node that failed verification: unreachable or on the
// wrong chain (422).
type VerifyError struct{ Err error }

func (e *VerifyError) Error() string { return "node failed verification: " + e.Err.Error() }
func (e *VerifyError) Unwrap() error { return e.Err }

// ReloadError is a rejected reload; the old config keeps serving (422).
type ReloadError struct{ Err error }

func (e *ReloadError) Error() string {
	return "reload rejected, the old config keeps serving: " + e.Err.Error()
}
func (e *ReloadError) Unwrap() error { return e.Err }

// NodeSpec is a node to add at run time (POST /admin/chains/{chain}/nodes).
type NodeSpec struct {
	Name    string            `json:"name"`
	URL     string            `json:"url"`
	WS      string            `json:"ws,omitempty"`
	Groups  []string          `json:"groups,omitempty"`
	Weight  int               `json:"weight,omitempty"`
	Workers int               `json:"workers,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	// Queue and MaxRequestBytes are as in the config file; 0 is the
	// default. Every field is judged by the config file's rules.
	Queue           int   `json:"queue,omitempty"`
	MaxRequestBytes int64 `json:"max_request_bytes,omitempty"`
}
