package evm

import "github.com/rpcgate/rpcgate/internal/jsonrpc"

// KnownMethod reports a standard Ethereum method (eth_, net_, web3_, debug_,
// trace_, txpool_), so that metrics can label it by name and fold the rest
// into one label. The list lives in package jsonrpc, which interns these names
// while decoding.
func KnownMethod(name string) bool {
	return jsonrpc.IsKnownMethod(name)
}
