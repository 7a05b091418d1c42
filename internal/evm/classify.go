package evm

import (
	"bytes"

	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

// ErrorClass is what a node's JSON-RPC error means for routing. Nodes report
// "not yet" conditions only in message text, so the text is read here, once,
// and callers decide retries by class alone.
type ErrorClass uint8

const (
	// ClassNone: a normal answer or a final error (revert, invalid params,
	// nonce too low, timeouts of the call itself...): pass it to the client.
	ClassNone ErrorClass = iota
	// ClassNotYet: this node cannot answer (yet): it lacks the block, header
	// or state asked for. A node further ahead, or an archive node, may.
	ClassNotYet
	// ClassCapacity: the node, or the provider in front of it, is overloaded
	// or rate limiting.
	ClassCapacity
	// ClassNodeFault: the node failed internally (-32603); another node may
	// well answer.
	ClassNodeFault
)

func (c ErrorClass) String() string {
	switch c {
	case ClassNotYet:
		return "not_yet"
	case ClassCapacity:
		return "capacity"
	case ClassNodeFault:
		return "node_fault"
	}
	return "none"
}

// notYet are message fragments (lowercase) that mean the node lacks the data.
// Sources:
//   - geth: "header not found", "header for hash not found", "unknown block"
//     (filters), "safe block not found", "finalized block not found",
//     "block #N not found" (tracers), "missing trie node <hash> (path ...)",
//     "historical state not available in path scheme yet",
//     "required historical state unavailable (reexec=N)",
//     "historical state <root> is not available";
//   - erigon: "header not found", "block not found", "state ... not available";
//   - nethermind: "No state available for block 0x...", "<block> could not be
//     found" (-32001 ResourceNotFound);
//   - besu: "Block not found", "Parent block not found", "Unknown block"
//     (-39001), "World state unavailable", "Initial sync is still in
//     progress" (-32008), "... node not yet in sync";
//   - anvil: "BlockOutOfRangeError: block height is N but requested was M",
//     "Required data unavailable", "could not find newest block number requested".
//
// "missing trie node" also comes from a pruned (non-archive) node asked for
// an old block: that node will never answer, but another one may, which is
// what the class tells the caller.
var notYet = [...]string{
	"header not found",
	"header for hash not found",
	"unknown block",
	"block not found",
	"missing trie node",
	"historical state",
	"no state available",
	"state not available",
	"state is not available",
	"state unavailable",
	"could not be found",
	"initial sync is still in progress",
	"not yet in sync",
	"blockoutofrange",
	"block height is",
	"required data unavailable",
	"could not find newest block",
}

// capacity are message fragments (lowercase) of overload and rate limiting,
// from providers and node front-ends (-32005 "limit exceeded" is EIP-1474's
// spelling; Infura: "daily request count exceeded, request rate limited").
var capacity = [...]string{
	"rate limit",
	"ratelimit",
	"rate-limit",
	"too many requests",
	"too many concurrent",
	"request rate",
	"over capacity",
	"capacity exceeded",
	"overloaded",
	"server is busy",
}

// Classify decides the class of a node's JSON-RPC error; nil is ClassNone.
//
// Order matters: "not yet" wins over everything (besu answers some missing
// state with -32603), then capacity. A timeout is ClassNone whatever its code:
// a call that timed out on one node is likely to on the next, and retrying it
// multiplies the heaviest load. Other -32603 errors are ClassNodeFault. Any
// other -32005 is a request-size limit (besu: "Requested range exceeds
// maximum RPC range limit"; Infura: "query returned more than 10000
// results"), which is final.
func Classify(e *jsonrpc.Error) ErrorClass {
	if e == nil {
		return ClassNone
	}
	var buf [256]byte
	msg := lower(buf[:0], e.Message)
	for i, s := range notYetBytes {
		if bytes.Contains(msg, s) {
			if notYet[i] == "could not be found" && e.Code != -32001 {
				continue // nethermind's block lookups only; other things "could not be found" for good
			}
			return ClassNotYet
		}
	}
	if bytes.Contains(msg, []byte("block #")) && bytes.Contains(msg, []byte("not found")) { // geth tracers
		return ClassNotYet
	}
	for _, s := range capacityBytes {
		if bytes.Contains(msg, s) {
			return ClassCapacity
		}
	}
	if e.Code == -32005 && bytes.Contains(msg, []byte("limit exceeded")) || e.Code == 429 {
		return ClassCapacity
	}
	if bytes.Contains(msg, []byte("timeout")) || bytes.Contains(msg, []byte("timed out")) {
		return ClassNone
	}
	if e.Code == jsonrpc.CodeInternal {
		return ClassNodeFault
	}
	return ClassNone
}

var notYetBytes, capacityBytes = toBytes(notYet[:]), toBytes(capacity[:])

func toBytes(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// lower appends s with ASCII letters lowered to dst.
func lower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
