package evm

import (
	"testing"

	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		client string
		code   int
		msg    string
		want   ErrorClass
	}{
		// not yet
		{"geth", -32000, "header not found", ClassNotYet},
		{"geth", -32000, "header for hash not found", ClassNotYet},
		{"geth", -32000, "unknown block", ClassNotYet},
		{"geth", -32000, "safe block not found", ClassNotYet},
		{"geth", -32000, "finalized block not found", ClassNotYet},
		{"geth", -32000, "block #18000000 not found", ClassNotYet},
		{"geth", -32000, "missing trie node 9b5a7e8d6c0f1e2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809 (path )", ClassNotYet},
		{"geth", -32000, "historical state not available in path scheme yet", ClassNotYet},
		{"geth", -32000, "required historical state unavailable (reexec=128)", ClassNotYet},
		{"geth", -32000, "historical state 0x1234 is not available", ClassNotYet},
		{"erigon", -32000, "block not found", ClassNotYet},
		{"erigon", -32000, "header not found", ClassNotYet},
		{"nethermind", -32002, "No state available for block 0x3f9e020290502d1d41f4b5519e7d456f0935dea980ec310935206cac8239117e", ClassNotYet},
		{"nethermind", -32001, "62771944 could not be found", ClassNotYet},
		{"besu", -32000, "Block not found", ClassNotYet},
		{"besu", -32000, "Parent block not found", ClassNotYet},
		{"besu", -39001, "Unknown block", ClassNotYet},
		{"besu", -32000, "World state unavailable", ClassNotYet},
		{"besu", -32008, "Initial sync is still in progress", ClassNotYet},
		{"besu", -32002, "Transaction pool not enabled. (Either txpool explicitly disabled, or node not yet in sync).", ClassNotYet},
		{"anvil", -32000, "BlockOutOfRangeError: block height is 10 but requested was 12", ClassNotYet},
		{"anvil", -32000, "Required data unavailable", ClassNotYet},
		{"anvil", -32000, "could not find newest block number requested: 0x20", ClassNotYet},
		// capacity
		{"infura", -32005, "daily request count exceeded, request rate limited", ClassCapacity},
		{"eip-1474", -32005, "Limit exceeded", ClassCapacity},
		{"provider", 429, "Too Many Requests", ClassCapacity},
		{"provider", -32016, "rate limit exceeded", ClassCapacity},
		{"provider", -32000, "too many concurrent requests", ClassCapacity},
		{"provider", -32603, "server is busy, try again", ClassCapacity},
		// node fault
		{"geth", -32603, "method handler crashed", ClassNodeFault},
		{"besu", -32603, "Internal error", ClassNodeFault},
		// final errors pass through
		{"geth", 3, "execution reverted: insufficient balance", ClassNone},
		{"geth", -32000, "nonce too low: address 0x00, tx: 1 state: 5", ClassNone},
		{"geth", -32000, "already known", ClassNone},
		{"geth", -32602, "invalid argument 0: hex string has leading zero digits after 0x", ClassNone},
		{"geth", -32601, "the method foo_bar does not exist/is not available", ClassNone},
		{"geth", -32002, "request timed out", ClassNone},
		{"geth", -32000, "execution aborted (timeout = 5s)", ClassNone},
		{"besu", -32603, "Timeout expired", ClassNone},
		{"besu", -32005, "Requested range exceeds maximum RPC range limit", ClassNone},
		{"besu", -32005, "Transaction gas limit exceeds block gas limit", ClassNone},
		{"infura", -32005, "query returned more than 10000 results", ClassNone},
		{"nethermind", -32000, "Filter with id: 5 does not exist.", ClassNone},
		{"nethermind", -32000, "Transaction 0x01 could not be found", ClassNone}, // not -32001
		{"geth", -32000, "transaction not found", ClassNone},
		{"geth", -32000, "filter not found", ClassNone},
	}
	for _, tt := range tests {
		if got := Classify(&jsonrpc.Error{Code: tt.code, Message: tt.msg}); got != tt.want {
			t.Errorf("%s: Classify(%d %q) = %v, want %v", tt.client, tt.code, tt.msg, got, tt.want)
		}
	}
	if Classify(nil) != ClassNone {
		t.Error("Classify(nil) is not ClassNone")
	}
}

func TestClassifyDoesNotAllocate(t *testing.T) {
	e := &jsonrpc.Error{Code: -32000, Message: "execution reverted: a rather long revert reason that matches nothing at all"}
	if n := testing.AllocsPerRun(100, func() { Classify(e) }); n != 0 {
		t.Errorf("Classify allocates %v times", n)
	}
}
