package cache

// Keys: which reads may be answered from the cache or shared with a
// concurrent identical read, and under which key. Params are untrusted
// client bytes; they are read, never executed, and a call whose params are
// not understood is simply not cached.

import (
	"bytes"
	"encoding/json"

	"github.com/rpcgate/rpcgate/internal/evm"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

// Scope says how a call's answer relates to the chain.
type Scope uint8

const (
	// ScopeNone: never cached (a tag such as latest, a pending state, an
	// unknown method); concurrent identical calls may still share one
	// upstream call when Lookup.Share is set.
	ScopeNone Scope = iota
	// ScopeNumber: the params name a block by number; the answer is final
	// when that number is at or below the chain's finalized block.
	ScopeNumber
	// ScopeHash: the params name a block by hash; the answer is final
	// when that block is finalized, otherwise kept under the hash for a
	// short TTL and evicted when a reorg replaces the hash.
	ScopeHash
	// ScopeResult: the params name a transaction; the answer's own
	// blockNumber/blockHash say where it lives (null: not mined, never
	// cached).
	ScopeResult
	// ScopeStatic: the answer never changes (eth_chainId).
	ScopeStatic
)

// Lookup is what a call means for the cache.
type Lookup struct {
	// Key identifies the call: chain, method and compacted params.
	Key string
	// Class labels metrics: block, tx, receipt, state, logs, static, other.
	Class string
	Scope Scope
	// Number is the block for ScopeNumber (for logs: the range's end).
	Number uint64
	// Hash is the block hash for ScopeHash (quoted JSON string bytes).
	Hash string
	// Share: concurrent identical calls may share one upstream call.
	Share bool
	// Realtime: a tip answer, kept only under cache.realtime_ttl.
	Realtime bool
}

type methodInfo struct {
	class string
	// byHash: position of a block hash param (-1: none).
	byHash int
	// result: the finality comes from the answer (tx, receipt).
	result bool
	static bool
}

// methods lists the cacheable reads. Block-numbered ones take their block
// parameter position from evm.Block.
var methods = map[string]methodInfo{
	"eth_chainId": {class: "static", byHash: -1, static: true},
	"net_version": {class: "static", byHash: -1, static: true},

	"eth_getBlockByNumber":                    {class: "block", byHash: -1},
	"eth_getBlockByHash":                      {class: "block", byHash: 0},
	"eth_getHeaderByNumber":                   {class: "block", byHash: -1},
	"eth_getHeaderByHash":                     {class: "block", byHash: 0},
	"eth_getBlockTransactionCountByNumber":    {class: "block", byHash: -1},
	"eth_getBlockTransactionCountByHash":      {class: "block", byHash: 0},
	"eth_getBlockReceipts":                    {class: "receipt", byHash: -1},
	"eth_getTransactionByBlockNumberAndIndex": {class: "tx", byHash: -1},
	"eth_getTransactionByBlockHashAndIndex":   {class: "tx", byHash: 0},
	"eth_getTransactionByHash":                {class: "tx", byHash: -1, result: true},
	"eth_getTransactionReceipt":               {class: "receipt", byHash: -1, result: true},

	"eth_getBalance":          {class: "state", byHash: -1},
	"eth_getCode":             {class: "state", byHash: -1},
	"eth_getStorageAt":        {class: "state", byHash: -1},
	"eth_getTransactionCount": {class: "state", byHash: -1},
	"eth_getProof":            {class: "state", byHash: -1},
	"eth_call":                {class: "state", byHash: -1},

	"eth_getLogs": {class: "logs", byHash: -1},
}

// shared lists reads that are never cached but may be shared between
// concurrent identical calls: their answer is the tip's, and concurrent
// callers cannot tell which of them reached the node first.
var shared = map[string]bool{
	"eth_blockNumber": true, "eth_gasPrice": true, "eth_maxPriorityFeePerGas": true,
	"eth_blobBaseFee": true, "eth_feeHistory": true, "eth_estimateGas": true, "eth_syncing": true,
}

// realtime lists the tip reads cache.realtime_ttl may keep. eth_blockNumber
// is not one: a kept answer could be older than one already served.
var realtime = map[string]bool{"eth_gasPrice": true, "eth_maxPriorityFeePerGas": true, "eth_blobBaseFee": true}

// Derive reads what a call means for the cache. ok is false for calls
// neither cached nor shared (writes, filters, subscriptions, unknown
// methods, params that are not a JSON array).
func Derive(chain, method string, params []byte) (Lookup, bool) {
	info, cacheable := methods[method]
	if !cacheable && !shared[method] {
		return Lookup{}, false
	}
	p := bytes.TrimSpace(params)
	if len(p) == 0 {
		p = []byte("[]")
	}
	if p[0] != '[' {
		return Lookup{}, false
	}
	var buf bytes.Buffer
	buf.Grow(len(chain) + len(method) + len(p) + 2)
	buf.WriteString(chain)
	buf.WriteByte(0)
	buf.WriteString(method)
	buf.WriteByte(0)
	if hasSpace(p) {
		if err := json.Compact(&buf, p); err != nil {
			return Lookup{}, false
		}
	} else {
		if !json.Valid(p) {
			return Lookup{}, false
		}
		buf.Write(p)
	}
	l := Lookup{Key: buf.String(), Class: "other", Share: true}
	if !cacheable {
		l.Realtime = realtime[method]
		return l, true
	}
	l.Class = info.class
	compact := buf.Bytes()[len(chain)+len(method)+2:]
	switch {
	case info.static:
		l.Scope = ScopeStatic
	case info.result:
		if h, ok := jsonrpc.ArrayElem(compact, 0); ok && isHash(h) {
			l.Scope = ScopeResult
		}
	case info.byHash >= 0:
		if h, ok := jsonrpc.ArrayElem(compact, info.byHash); ok && isHash(h) {
			l.Scope, l.Hash = ScopeHash, lowerHash(h)
		}
	default:
		l.Scope, l.Number, l.Hash = blockOf(method, compact)
	}
	return l, true
}

// blockOf reads the block a numbered method names: a number (ScopeNumber),
// an EIP-1898 block hash or a bare hash (ScopeHash), or ScopeNone for a
// tag: a tag's answer is never stored under the tag.
func blockOf(method string, params []byte) (Scope, uint64, string) {
	if method == "eth_getLogs" {
		f, ok := jsonrpc.ArrayElem(params, 0)
		if !ok || f[0] != '{' {
			return ScopeNone, 0, ""
		}
		if h, ok := jsonrpc.ObjectMember(f, "blockHash"); ok {
			if isHash(h) {
				return ScopeHash, 0, lowerHash(h)
			}
			return ScopeNone, 0, ""
		}
	}
	if method == "eth_getBlockReceipts" {
		if v, ok := jsonrpc.ArrayElem(params, 0); ok && isHash(v) {
			return ScopeHash, 0, lowerHash(v)
		}
	}
	for _, v := range blockParamsOf(method, params) {
		if v[0] == '{' {
			if h, ok := jsonrpc.ObjectMember(v, "blockHash"); ok && isHash(h) {
				if _, canon := jsonrpc.ObjectMember(v, "requireCanonical"); canon {
					return ScopeNone, 0, "" // the answer depends on the tip
				}
				return ScopeHash, 0, lowerHash(h)
			}
		}
	}
	ref := evm.Block(method, params)
	switch ref.Kind {
	case evm.BlockNumber:
		return ScopeNumber, ref.Number, ""
	case evm.BlockEarliest:
		return ScopeNumber, 0, ""
	}
	return ScopeNone, 0, ""
}

// blockParamsOf returns the raw block parameter(s) of a numbered method
// that may hold an EIP-1898 object.
func blockParamsOf(method string, params []byte) [][]byte {
	pos, ok := blockObjectPos[method]
	if !ok {
		return nil
	}
	v, ok := jsonrpc.ArrayElem(params, pos)
	if !ok || len(v) == 0 {
		return nil
	}
	return [][]byte{v}
}

// blockObjectPos is where the methods that take an EIP-1898 block
// parameter have it.
var blockObjectPos = map[string]int{"eth_getBalance": 1, "eth_getCode": 1, "eth_getTransactionCount": 1,
	"eth_getStorageAt": 2, "eth_getProof": 2, "eth_call": 1, "eth_getBlockReceipts": 0}

// isHash reports a quoted 32-byte hex hash: "0x" and 64 hex digits.
func isHash(v []byte) bool {
	if len(v) != 68 || v[0] != '"' || v[67] != '"' || v[1] != '0' || (v[2] != 'x' && v[2] != 'X') {
		return false
	}
	for _, c := range v[3:67] {
		if !isHexDigit(c) {
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// lowerHash is a quoted hash as a lower-case string, so that reorg tags
// match however a client spelled the hash.
func lowerHash(h []byte) string { return string(bytes.ToLower(h)) }

// hasSpace reports whitespace anywhere in b (inside strings too: then
// compaction decides, which is only slower).
func hasSpace(b []byte) bool {
	for _, c := range b {
		if c == ' ' || c == '\n' || c == '\t' || c == '\r' {
			return true
		}
	}
	return false
}
