package consensus

import (
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/rpcgate/rpcgate/internal/evm"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

// Kind is how one participant's answer counts.
type Kind uint8

const (
	// NoVote: an infrastructure failure (timeout, connection, capacity,
	// "not yet", a malformed answer): it says nothing about the chain.
	NoVote Kind = iota
	// Result: a result, compared by its canonical hash.
	Result
	// RPCError: a JSON-RPC error the call itself causes (a revert, bad
	// params), compared by class: two reverts agree.
	RPCError
)

// Vote is one answer as the comparison sees it.
type Vote struct {
	Kind Kind
	// Hash is xxhash64 of the canonical result, or of the error class.
	Hash uint64
	// Class names an RPCError's class ("reverted", "code -32602").
	Class string
}

// Judge reads a node's response body into a vote. ignore is the method's
// ignore_fields.
func Judge(body []byte, ignore Paths) Vote {
	r, err := jsonrpc.ScanResponse(body)
	if err != nil {
		return Vote{}
	}
	if r.Err != nil {
		cls := ErrorClass(r.Err)
		if cls == "" {
			return Vote{}
		}
		return Vote{Kind: RPCError, Hash: xxhash.Sum64String("error:" + cls), Class: cls}
	}
	buf := make([]byte, 0, len(r.Result))
	canon, cerr := Canonical(buf, r.Result, ignore)
	if cerr != nil {
		return Vote{}
	}
	return Vote{Kind: Result, Hash: xxhash.Sum64(canon)}
}

// ErrorClass names the class of a node's JSON-RPC error for comparison,
// or "" for an infrastructure failure that is no vote (capacity, node
// fault, "not yet": another node might answer). Reverts form one class
// whatever their message: nodes word them differently.
func ErrorClass(e *jsonrpc.Error) string {
	switch evm.Classify(e) {
	case evm.ClassNotYet, evm.ClassCapacity, evm.ClassNodeFault:
		return ""
	}
	if e.Code == 3 || strings.Contains(strings.ToLower(e.Message), "revert") {
		return "reverted"
	}
	return "code " + strconv.Itoa(e.Code)
}
