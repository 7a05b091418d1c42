package consensus

import (
	"strconv"

	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

// blockArg is where a compared method takes its block parameter.
var blockArg = map[string]int{
	"eth_getBalance":                          1,
	"eth_getCode":                             1,
	"eth_getTransactionCount":                 1,
	"eth_getStorageAt":                        2,
	"eth_getProof":                            2,
	"eth_getAccount":                          1,
	"eth_call":                                1,
	"eth_getBlockByNumber":                    0,
	"eth_getHeaderByNumber":                   0,
	"eth_getBlockReceipts":                    0,
	"eth_getBlockTransactionCountByNumber":    0,
	"eth_getTransactionByBlockNumberAndIndex": 0,
	"eth_getUncleCountByBlockNumber":          0,
}

// hashKeyed are compared methods named by a hash: their answer is fixed
// once the block or transaction exists, so they need no pinning.
var hashKeyed = map[string]bool{
	"eth_getBlockByHash":                    true,
	"eth_getTransactionByHash":              true,
	"eth_getTransactionReceipt":             true,
	"eth_getBlockTransactionCountByHash":    true,
	"eth_getTransactionByBlockHashAndIndex": true,
	"eth_chainId":                           true,
}

// DefaultMethods is the documented list of methods compared by default:
// those whose answer is a pure function of the (pinned) block or of a
// hash.
func DefaultMethods() []string {
	out := make([]string, 0, len(blockArg)+len(hashKeyed))
	for m := range blockArg {
		out = append(out, m)
	}
	for m := range hashKeyed {
		out = append(out, m)
	}
	return out
}

// Tag is the block parameter a call names, as pinning sees it.
type Tag uint8

const (
	TagNone      Tag = iota // the method takes no block (hash-keyed): nothing to pin
	TagNumber               // a concrete block (number or EIP-1898 object): kept
	TagLatest               // "latest" or a missing parameter
	TagSafe                 // "safe"
	TagFinalized            // "finalized"
	TagPending              // "pending": never compared
	TagInvalid              // params not understood: not compared
)

// TagOf reads the block parameter of method's params.
func TagOf(method string, params []byte) (Tag, int) {
	pos, ok := blockArg[method]
	if !ok {
		return TagNone, 0
	}
	if len(params) == 0 {
		return TagInvalid, pos
	}
	v, ok := jsonrpc.ArrayElem(params, pos)
	if !ok {
		// Absent: the node defaults to latest, when every earlier
		// parameter is present.
		if pos > 0 {
			if _, ok := jsonrpc.ArrayElem(params, pos-1); ok {
				return TagLatest, pos
			}
		}
		return TagInvalid, pos
	}
	switch string(v) {
	case `"latest"`:
		return TagLatest, pos
	case `"safe"`:
		return TagSafe, pos
	case `"finalized"`:
		return TagFinalized, pos
	case `"pending"`:
		return TagPending, pos
	}
	if v[0] == '{' || v[0] == '"' {
		return TagNumber, pos
	}
	return TagInvalid, pos
}

// Pin returns params with the block parameter of method set to block
// (hex quantity), appended when it was missing. ok is false when the
// params cannot be rewritten (they are then not compared).
func Pin(method string, params []byte, block uint64) ([]byte, bool) {
	tag, pos := TagOf(method, params)
	q := "\"0x" + strconv.FormatUint(block, 16) + "\""
	switch tag {
	case TagLatest, TagSafe, TagFinalized:
	default:
		return nil, false
	}
	v, ok := jsonrpc.ArrayElem(params, pos)
	if ok {
		start := cap(params) - cap(v) // v aliases params
		out := make([]byte, 0, len(params)+len(q))
		out = append(out, params[:start]...)
		out = append(out, q...)
		return append(out, params[start+len(v):]...), true
	}
	// Missing: insert before the closing bracket.
	end := len(params) - 1
	for end > 0 && params[end] != ']' {
		end--
	}
	out := make([]byte, 0, len(params)+len(q)+1)
	out = append(out, params[:end]...)
	out = append(out, ',')
	out = append(out, q...)
	return append(out, params[end:]...), true
}

// Request builds a JSON-RPC call with the client's id.
func Request(dst, id []byte, method string, params []byte) []byte {
	if id == nil {
		id = []byte("null")
	}
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	dst = append(dst, id...)
	dst = append(dst, `,"method":`...)
	dst = jsonrpc.AppendString(dst, method)
	if len(params) > 0 {
		dst = append(dst, `,"params":`...)
		dst = append(dst, params...)
	}
	return append(dst, '}')
}
