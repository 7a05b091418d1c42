package jsonrpc

// knownMethods are the standard Ethereum JSON-RPC methods (eth_, net_, web3_,
// debug_, trace_, txpool_ and the common bundle methods). It is the one list
// both for interning method names while decoding and for bounding metric label
// cardinality (package evm reads it through LookupMethod and KnownMethods).
var knownMethods = [...]string{
	// eth_
	"eth_accounts", "eth_blobBaseFee", "eth_blockNumber", "eth_call", "eth_callBundle", "eth_callMany",
	"eth_chainId", "eth_coinbase", "eth_config", "eth_createAccessList", "eth_estimateGas",
	"eth_feeHistory", "eth_gasPrice", "eth_getAccount", "eth_getBalance", "eth_getBlockByHash",
	"eth_getBlockByNumber", "eth_getBlockReceipts", "eth_getBlockTransactionCountByHash",
	"eth_getBlockTransactionCountByNumber", "eth_getCode", "eth_getFilterChanges", "eth_getFilterLogs",
	"eth_getHeaderByHash", "eth_getHeaderByNumber", "eth_getLogs", "eth_getProof",
	"eth_getRawTransactionByBlockHashAndIndex", "eth_getRawTransactionByBlockNumberAndIndex",
	"eth_getRawTransactionByHash", "eth_getStorageAt", "eth_getTransactionByBlockHashAndIndex",
	"eth_getTransactionByBlockNumberAndIndex", "eth_getTransactionByHash",
	"eth_getTransactionBySenderAndNonce", "eth_getTransactionCount", "eth_getTransactionReceipt",
	"eth_getUncleByBlockHashAndIndex", "eth_getUncleByBlockNumberAndIndex",
	"eth_getUncleCountByBlockHash", "eth_getUncleCountByBlockNumber", "eth_getWork", "eth_hashrate",
	"eth_maxPriorityFeePerGas", "eth_mining", "eth_newBlockFilter", "eth_newFilter",
	"eth_newPendingTransactionFilter", "eth_protocolVersion", "eth_sendBundle", "eth_sendRawTransaction",
	"eth_sendRawTransactionConditional", "eth_sendRawTransactionSync", "eth_sendTransaction", "eth_sign",
	"eth_signTransaction", "eth_signTypedData", "eth_simulateV1", "eth_submitHashrate", "eth_submitWork",
	"eth_subscribe", "eth_syncing", "eth_uninstallFilter", "eth_unsubscribe",
	// net_, web3_
	"net_listening", "net_peerCount", "net_version", "web3_clientVersion", "web3_sha3",
	// debug_
	"debug_getBadBlocks", "debug_getRawBlock", "debug_getRawHeader", "debug_getRawReceipts",
	"debug_getRawTransaction", "debug_storageRangeAt", "debug_traceBlock", "debug_traceBlockByHash",
	"debug_traceBlockByNumber", "debug_traceCall", "debug_traceTransaction",
	// trace_
	"trace_block", "trace_call", "trace_callMany", "trace_filter", "trace_get", "trace_rawTransaction",
	"trace_replayBlockTransactions", "trace_replayTransaction", "trace_transaction",
	// txpool_
	"txpool_content", "txpool_contentFrom", "txpool_inspect", "txpool_status",
}

var methodIndex = func() map[string]string {
	m := make(map[string]string, len(knownMethods))
	for _, name := range knownMethods {
		m[name] = name
	}
	return m
}()

// LookupMethod returns the interned name for a known method, without
// allocating; ok is false for any other name.
func LookupMethod(name []byte) (interned string, ok bool) {
	interned, ok = methodIndex[string(name)]
	return interned, ok
}

// KnownMethods returns a copy of the known method names.
func KnownMethods() []string {
	return append([]string(nil), knownMethods[:]...)
}

// IsKnownMethod reports whether name is in the known method list.
func IsKnownMethod(name string) bool {
	_, ok := methodIndex[name]
	return ok
}
