package pipeline

import (
	"strings"

	"github.com/rpcgate/rpcgate/internal/evm"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

// errorClass is the bounded class of a node's JSON-RPC error, the class
// label of rpcgate_rpc_errors_total:
//
//	execution         code 3, or a message starting "execution reverted"
//	                  (geth, anvil, erigon, nethermind, besu answer a revert
//	                  with -32000 or 3)
//	invalid_params    -32602
//	method_not_found  -32601
//	not_yet           the node lacked the block or state (every node was
//	                  tried; evm.ClassNotYet)
//	capacity          the node or its provider was rate limiting or
//	                  overloaded (evm.ClassCapacity)
//	server            other codes in -32000..-32099
//	other             anything else
//
// The message is read only to tell a revert from other -32000 errors for
// this label; no routing decision depends on it.
func errorClass(e *jsonrpc.Error) string {
	if e == nil {
		return "other"
	}
	if e.Code == 3 || hasPrefixFold(e.Message, "execution reverted") {
		return "execution"
	}
	switch e.Code {
	case jsonrpc.CodeInvalidParams:
		return "invalid_params"
	case jsonrpc.CodeMethodNotFound:
		return "method_not_found"
	}
	switch evm.Classify(e) {
	case evm.ClassNotYet:
		return "not_yet"
	case evm.ClassCapacity:
		return "capacity"
	}
	if e.Code <= -32000 && e.Code >= -32099 {
		return "server"
	}
	return "other"
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
