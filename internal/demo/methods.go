package demo

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Limits on eth_getLogs, like those of public providers.
const (
	maxLogRange   = 10_000
	maxLogResults = 10_000
)

// dispatch answers one method from this node's view of the chain.
func (n *node) dispatch(method string, args []json.RawMessage) (any, *rpcError) {
	head := n.head()
	switch method {
	case "eth_chainId":
		return hexUint(n.chain.id), nil
	case "net_version":
		return strconv.FormatUint(n.chain.id, 10), nil
	case "web3_clientVersion":
		return "rpcgate-demo/" + n.name, nil
	case "eth_blockNumber":
		return hexUint(head), nil
	case "eth_gasPrice":
		return hexUint(n.chain.baseFee(head) + gwei), nil
	case "eth_getBlockByNumber":
		return n.getBlockByNumber(args, head)
	case "eth_getBlockByHash":
		return n.getBlockByHash(args, head)
	case "eth_getBalance", "eth_getTransactionCount":
		return n.accountState(method, args, head)
	case "eth_call":
		if err := callObject(args); err != nil {
			return nil, err
		}
		if _, err := n.stateBlock(args, 1, head); err != nil {
			return nil, err
		}
		return "0x", nil
	case "eth_estimateGas":
		return n.estimateGas(args, head)
	case "eth_getLogs":
		return n.getLogs(args, head)
	case "eth_sendRawTransaction":
		s, err := argString(args, 0)
		if err != nil {
			return nil, err
		}
		raw, perr := parseData(s)
		if perr != nil {
			return nil, errParams("invalid argument 0: %v", perr)
		}
		if len(raw) == 0 {
			return nil, &rpcError{Code: codeServer, Message: "typed transaction too short"}
		}
		h := sha256.Sum256(raw)
		return hexHash(h), nil
	case "eth_getTransactionReceipt":
		s, err := argString(args, 0)
		if err != nil {
			return nil, err
		}
		if _, perr := parseHash(s); perr != nil {
			return nil, errParams("invalid argument 0: %v", perr)
		}
		return nil, nil
	}
	return nil, &rpcError{Code: codeNoMethod, Message: fmt.Sprintf("the method %s does not exist/is not available", method)}
}

// blockTag resolves a block tag or hex number against head. The result may
// be above head; callers decide what that means.
func blockTag(s string, head uint64) (uint64, error) {
	switch s {
	case "latest", "pending":
		return head, nil
	case "earliest":
		return 0, nil
	case "safe":
		return head - min(head, 32), nil
	case "finalized":
		return head - min(head, 64), nil
	}
	return parseQuantity(s)
}

// stateBlock reads the optional block argument i of a state method (a tag,
// a number or an EIP-1898 object) and fails like geth when the node does
// not have that block.
func (n *node) stateBlock(args []json.RawMessage, i int, head uint64) (uint64, *rpcError) {
	if i >= len(args) || bytes.Equal(bytes.TrimSpace(args[i]), []byte("null")) {
		return head, nil
	}
	raw := bytes.TrimSpace(args[i])
	if len(raw) > 0 && raw[0] == '{' {
		var obj struct {
			BlockNumber *string `json:"blockNumber"`
			BlockHash   *string `json:"blockHash"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil {
			return 0, errParams("invalid argument %d: %v", i, err)
		}
		switch {
		case obj.BlockHash != nil:
			h, err := parseHash(*obj.BlockHash)
			if err != nil {
				return 0, errParams("invalid argument %d: %v", i, err)
			}
			num, ok := n.chain.lookup(h)
			if !ok || num > head {
				return 0, &rpcError{Code: codeServer, Message: "header for hash not found"}
			}
			return num, nil
		case obj.BlockNumber != nil:
			raw, _ = json.Marshal(*obj.BlockNumber)
		default:
			return 0, errParams("invalid argument %d: types BlockHash and BlockNumber both absent", i)
		}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, errParams("invalid argument %d: %v", i, err)
	}
	num, err := blockTag(s, head)
	if err != nil {
		return 0, errParams("invalid argument %d: %v", i, err)
	}
	if num > head {
		return 0, errHeaderNotFound
	}
	return num, nil
}

func fullTxArg(args []json.RawMessage) (bool, *rpcError) {
	if len(args) < 2 {
		return false, nil
	}
	var full bool
	if err := json.Unmarshal(args[1], &full); err != nil {
		return false, errParams("invalid argument 1: %v", err)
	}
	return full, nil
}

func (n *node) getBlockByNumber(args []json.RawMessage, head uint64) (any, *rpcError) {
	s, rerr := argString(args, 0)
	if rerr != nil {
		return nil, rerr
	}
	num, err := blockTag(s, head)
	if err != nil {
		return nil, errParams("invalid argument 0: %v", err)
	}
	full, rerr := fullTxArg(args)
	if rerr != nil {
		return nil, rerr
	}
	if num > head {
		return nil, nil // geth answers null for blocks it does not have
	}
	return n.chain.block(num, full), nil
}

func (n *node) getBlockByHash(args []json.RawMessage, head uint64) (any, *rpcError) {
	s, rerr := argString(args, 0)
	if rerr != nil {
		return nil, rerr
	}
	h, err := parseHash(s)
	if err != nil {
		return nil, errParams("invalid argument 0: %v", err)
	}
	full, rerr := fullTxArg(args)
	if rerr != nil {
		return nil, rerr
	}
	num, ok := n.chain.lookup(h)
	if !ok || num > head {
		return nil, nil
	}
	return n.chain.block(num, full), nil
}

func (n *node) accountState(method string, args []json.RawMessage, head uint64) (any, *rpcError) {
	s, rerr := argString(args, 0)
	if rerr != nil {
		return nil, rerr
	}
	addr, err := parseAddress(s)
	if err != nil {
		return nil, errParams("invalid argument 0: %v", err)
	}
	if _, rerr := n.stateBlock(args, 1, head); rerr != nil {
		return nil, rerr
	}
	if method == "eth_getBalance" {
		return "0x" + n.chain.balance(addr).Text(16), nil
	}
	return hexUint(n.chain.nonce(addr)), nil
}

// callObject checks that argument 0 is a transaction call object.
func callObject(args []json.RawMessage) *rpcError {
	if len(args) == 0 {
		return errParams("missing value for required argument 0")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(args[0], &obj); err != nil || obj == nil {
		return errParams("invalid argument 0: want a transaction call object")
	}
	return nil
}

func (n *node) estimateGas(args []json.RawMessage, head uint64) (any, *rpcError) {
	if err := callObject(args); err != nil {
		return nil, err
	}
	var obj struct {
		Data  *string `json:"data"`
		Input *string `json:"input"`
	}
	json.Unmarshal(args[0], &obj) // shape already checked by callObject
	data := obj.Input
	if data == nil {
		data = obj.Data
	}
	if _, err := n.stateBlock(args, 1, head); err != nil {
		return nil, err
	}
	if data == nil || *data == "0x" || *data == "" {
		return hexUint(21_000), nil
	}
	b, err := parseData(*data)
	if err != nil {
		return nil, errParams("invalid argument 0: %v", err)
	}
	return hexUint(21_000 + 25_000 + 16*uint64(len(b))), nil
}

// logFilter is eth_getLogs' filter object.
type logFilter struct {
	FromBlock *string           `json:"fromBlock"`
	ToBlock   *string           `json:"toBlock"`
	BlockHash *string           `json:"blockHash"`
	Address   json.RawMessage   `json:"address"`
	Topics    []json.RawMessage `json:"topics"`
}

func (n *node) getLogs(args []json.RawMessage, head uint64) (any, *rpcError) {
	if len(args) == 0 {
		return nil, errParams("missing value for required argument 0")
	}
	var f logFilter
	if err := json.Unmarshal(args[0], &f); err != nil {
		return nil, errParams("invalid argument 0: %v", err)
	}
	addrs, err := stringOrList(f.Address)
	if err != nil {
		return nil, errParams("invalid argument 0: address: %v", err)
	}
	topics := make([][]string, len(f.Topics))
	for i, t := range f.Topics {
		if topics[i], err = stringOrList(t); err != nil {
			return nil, errParams("invalid argument 0: topics[%d]: %v", i, err)
		}
	}

	var from, to uint64
	if f.BlockHash != nil {
		if f.FromBlock != nil || f.ToBlock != nil {
			return nil, errParams("invalid argument 0: cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other")
		}
		h, err := parseHash(*f.BlockHash)
		if err != nil {
			return nil, errParams("invalid argument 0: %v", err)
		}
		num, ok := n.chain.lookup(h)
		if !ok || num > head {
			return nil, &rpcError{Code: codeServer, Message: "unknown block"}
		}
		from, to = num, num
	} else {
		bound := func(p *string) (uint64, error) {
			if p == nil {
				return head, nil
			}
			return blockTag(*p, head)
		}
		if from, err = bound(f.FromBlock); err != nil {
			return nil, errParams("invalid argument 0: fromBlock: %v", err)
		}
		if to, err = bound(f.ToBlock); err != nil {
			return nil, errParams("invalid argument 0: toBlock: %v", err)
		}
		if from > head || to > head {
			return nil, errHeaderNotFound
		}
		if from > to {
			return nil, errParams("invalid block range params")
		}
		if to-from >= maxLogRange {
			return nil, &rpcError{Code: codeLimit, Message: fmt.Sprintf("query exceeds max block range %d", maxLogRange)}
		}
	}

	out := []logJSON{}
	for b := from; b <= to; b++ {
		for _, l := range n.chain.logs(b) {
			if !matchLog(l, addrs, topics) {
				continue
			}
			if len(out) == maxLogResults {
				return nil, &rpcError{Code: codeLimit, Message: fmt.Sprintf("query returned more than %d results", maxLogResults)}
			}
			out = append(out, l)
		}
	}
	return out, nil
}

// stringOrList decodes null, "x" or ["x", null, ...] (nulls dropped).
func stringOrList(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return []string{s}, err
	}
	var list []*string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range list {
		if s != nil {
			out = append(out, *s)
		}
	}
	return out, nil
}

func matchLog(l logJSON, addrs []string, topics [][]string) bool {
	if len(addrs) > 0 && !containsFold(addrs, l.Address) {
		return false
	}
	if len(topics) > len(l.Topics) {
		return false
	}
	for i, alts := range topics {
		if len(alts) > 0 && !containsFold(alts, l.Topics[i]) {
			return false
		}
	}
	return true
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
