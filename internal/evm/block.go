package evm

import "github.com/rpcgate/rpcgate/internal/jsonrpc"

// BlockKind says what part of the chain a call depends on, for choosing a
// node that can answer it.
type BlockKind uint8

const (
	// BlockLatest: the answer depends on the node's tip (latest, pending,
	// safe, finalized, an omitted block parameter, lookups by hash). Also the
	// answer for anything not understood, since it is always safe.
	BlockLatest BlockKind = iota
	// BlockNumber: a specific block, BlockRef.Number.
	BlockNumber
	// BlockEarliest: the genesis block.
	BlockEarliest
	// BlockAny: the answer does not depend on chain state at all.
	BlockAny
)

// BlockRef is the part of the chain a call needs.
type BlockRef struct {
	Kind   BlockKind
	Number uint64 // for BlockNumber; for a log range, the highest block of the range
}

type paramKind uint8

const (
	paramAt     paramKind = iota + 1 // a block parameter at position pos
	paramFilter                      // a filter object with fromBlock/toBlock/blockHash at position 0
	paramNone                        // no chain state involved
)

type blockParam struct {
	kind paramKind
	pos  uint8
}

// blockParams holds the methods that name a block. Positions are 0-based.
// Methods missing here are BlockLatest: hash lookups (eth_getBlockByHash,
// eth_getTransactionReceipt...) name no height, and a hash on a node that
// lacks it is reported as a "not yet" error, see Classify.
var blockParams = map[string]blockParam{
	"eth_chainId":        {kind: paramNone},
	"net_version":        {kind: paramNone},
	"web3_clientVersion": {kind: paramNone},
	"web3_sha3":          {kind: paramNone},

	"eth_getBalance":          {paramAt, 1},
	"eth_getCode":             {paramAt, 1},
	"eth_getTransactionCount": {paramAt, 1},
	"eth_getStorageAt":        {paramAt, 2},
	"eth_getAccount":          {paramAt, 1},
	"eth_getProof":            {paramAt, 2},
	"eth_call":                {paramAt, 1},
	"eth_estimateGas":         {paramAt, 1},
	"eth_createAccessList":    {paramAt, 1},
	"eth_simulateV1":          {paramAt, 1},
	"eth_feeHistory":          {paramAt, 1},

	"eth_getBlockByNumber":                       {paramAt, 0},
	"eth_getHeaderByNumber":                      {paramAt, 0},
	"eth_getBlockReceipts":                       {paramAt, 0},
	"eth_getBlockTransactionCountByNumber":       {paramAt, 0},
	"eth_getUncleCountByBlockNumber":             {paramAt, 0},
	"eth_getTransactionByBlockNumberAndIndex":    {paramAt, 0},
	"eth_getRawTransactionByBlockNumberAndIndex": {paramAt, 0},
	"eth_getUncleByBlockNumberAndIndex":          {paramAt, 0},

	"debug_traceBlockByNumber": {paramAt, 0},
	"debug_traceCall":          {paramAt, 1},
	"debug_getRawBlock":        {paramAt, 0},
	"debug_getRawHeader":       {paramAt, 0},
	"debug_getRawReceipts":     {paramAt, 0},

	"trace_block":                   {paramAt, 0},
	"trace_replayBlockTransactions": {paramAt, 0},
	"trace_call":                    {paramAt, 2},
	"trace_callMany":                {paramAt, 1},

	"eth_getLogs":   {kind: paramFilter},
	"eth_newFilter": {kind: paramFilter},
	"trace_filter":  {kind: paramFilter},
}

// Block returns what part of the chain a call needs, reading only the params
// it must, without allocating. Block parameters may be hex quantities, tags or
// EIP-1898 objects ({"blockNumber":"0x.."} or {"blockHash":"0x..",...}, the
// latter being BlockLatest). Filters (eth_getLogs, eth_newFilter,
// trace_filter) give BlockNumber with the highest of fromBlock and toBlock
// when both are numbers, BlockLatest when either is a tip tag or missing or a
// blockHash is given. Unknown methods and malformed params are BlockLatest.
func Block(method string, params []byte) BlockRef {
	p, ok := blockParams[method]
	if !ok {
		return BlockRef{}
	}
	switch p.kind {
	case paramNone:
		return BlockRef{Kind: BlockAny}
	case paramFilter:
		return filterBlock(params)
	}
	v, ok := jsonrpc.ArrayElem(params, int(p.pos))
	if !ok { // absent parameter: the node defaults to latest
		return BlockRef{}
	}
	if v[0] == '{' {
		return objectBlock(v)
	}
	return tagBlock(v)
}

// tagBlock reads a block number or tag.
func tagBlock(v []byte) BlockRef {
	switch string(v) {
	case `"latest"`, `"pending"`, `"safe"`, `"finalized"`:
		return BlockRef{}
	case `"earliest"`:
		return BlockRef{Kind: BlockEarliest}
	}
	if n, ok := ParseQuantity(v); ok {
		return BlockRef{Kind: BlockNumber, Number: n}
	}
	return BlockRef{}
}

// objectBlock reads an EIP-1898 block parameter.
func objectBlock(v []byte) BlockRef {
	if _, ok := jsonrpc.ObjectMember(v, "blockHash"); ok {
		return BlockRef{}
	}
	if n, ok := jsonrpc.ObjectMember(v, "blockNumber"); ok {
		return tagBlock(n)
	}
	return BlockRef{}
}

// filterBlock reads the range of a log filter.
func filterBlock(params []byte) BlockRef {
	f, ok := jsonrpc.ArrayElem(params, 0)
	if !ok || f[0] != '{' {
		return BlockRef{}
	}
	if _, ok := jsonrpc.ObjectMember(f, "blockHash"); ok {
		return BlockRef{}
	}
	from, ok := jsonrpc.ObjectMember(f, "fromBlock")
	if !ok {
		return BlockRef{}
	}
	to, ok := jsonrpc.ObjectMember(f, "toBlock")
	if !ok {
		return BlockRef{}
	}
	a, b := tagBlock(from), tagBlock(to)
	if a.Kind == BlockLatest || b.Kind == BlockLatest {
		return BlockRef{}
	}
	if a.Kind == BlockEarliest && b.Kind == BlockEarliest {
		return BlockRef{Kind: BlockEarliest}
	}
	return BlockRef{Kind: BlockNumber, Number: max(a.Number, b.Number)}
}
