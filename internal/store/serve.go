package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
)

// Reader answers settled reads from the store, as the node answered them.
// It is safe for concurrent use.
type Reader struct {
	Store *Store
	env   atomic.Pointer[Envelope]
}

// Methods the store serves.
var Methods = map[string]bool{
	"eth_getBlockByNumber": true, "eth_getBlockByHash": true,
	"eth_getTransactionByHash": true, "eth_getTransactionReceipt": true,
	"eth_getBlockReceipts":                 true,
	"eth_getBlockTransactionCountByNumber": true, "eth_getBlockTransactionCountByHash": true,
	"eth_getTransactionByBlockNumberAndIndex": true, "eth_getTransactionByBlockHashAndIndex": true,
	"eth_getLogs": true,
}

// envelope is the node's answer shape, read once.
func (r *Reader) envelope(ctx context.Context) (Envelope, error) {
	if e := r.env.Load(); e != nil {
		return *e, nil
	}
	e, err := r.Store.Envelope(ctx)
	if err != nil {
		return Envelope{}, err
	}
	r.env.Store(&e)
	return e, nil
}

// Wrap builds a whole answer around a result for the client id.
func (r *Reader) Wrap(ctx context.Context, id, result []byte) ([]byte, error) {
	e, err := r.envelope(ctx)
	if err != nil {
		return nil, err
	}
	return e.Wrap(nil, id, result), nil
}

// Result is the raw result of a call from the store. ErrMissing: the
// store does not hold it (or params are not ones it serves); any other
// error: the store failed. Either way the call goes to nodes.
func (r *Reader) Result(ctx context.Context, method string, params []byte) ([]byte, error) {
	var args []json.RawMessage
	if json.Unmarshal(params, &args) != nil {
		return nil, ErrMissing
	}
	s := r.Store
	switch method {
	case "eth_getBlockByNumber", "eth_getBlockByHash":
		if len(args) != 2 {
			return nil, ErrMissing
		}
		var full bool
		if json.Unmarshal(args[1], &full) != nil {
			return nil, ErrMissing
		}
		if method == "eth_getBlockByHash" {
			h, ok := hashArg(args[0])
			if !ok {
				return nil, ErrMissing
			}
			return s.BlockByHash(ctx, h, full)
		}
		n, ok := numberArg(args[0])
		if !ok {
			return nil, ErrMissing
		}
		return s.BlockByNumber(ctx, n, full)
	case "eth_getTransactionByHash", "eth_getTransactionReceipt":
		if len(args) != 1 {
			return nil, ErrMissing
		}
		h, ok := hashArg(args[0])
		if !ok {
			return nil, ErrMissing
		}
		if method == "eth_getTransactionByHash" {
			return s.Transaction(ctx, h)
		}
		return s.Receipt(ctx, h)
	case "eth_getBlockReceipts", "eth_getBlockTransactionCountByNumber", "eth_getBlockTransactionCountByHash":
		if len(args) != 1 {
			return nil, ErrMissing
		}
		n, h, byHash, ok := blockRef(args[0], method)
		if !ok {
			return nil, ErrMissing
		}
		if method == "eth_getBlockReceipts" {
			return s.BlockReceipts(ctx, n, h, byHash)
		}
		return s.TxCount(ctx, n, h, byHash)
	case "eth_getTransactionByBlockNumberAndIndex", "eth_getTransactionByBlockHashAndIndex":
		if len(args) != 2 {
			return nil, ErrMissing
		}
		n, h, byHash, ok := blockRef(args[0], method)
		var idx string
		if !ok || json.Unmarshal(args[1], &idx) != nil {
			return nil, ErrMissing
		}
		i, err := parseQuantity(idx)
		if err != nil {
			return nil, ErrMissing
		}
		return s.TransactionAt(ctx, n, h, byHash, i)
	case "eth_getLogs":
		f, err := ParseFilter(params)
		if err != nil || f.FromTag != "" || f.ToTag != "" {
			return nil, ErrMissing
		}
		if f.BlockHash == "" {
			if f.To < f.From {
				return nil, ErrMissing // the node's error
			}
			ok, err := s.Covers(ctx, f.From, f.To)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, ErrMissing
			}
		}
		return s.Logs(ctx, f)
	}
	return nil, ErrMissing
}

// blockRef reads a block argument: a quantity for *ByNumber (and
// eth_getBlockReceipts), a hash for *ByHash (and eth_getBlockReceipts).
func blockRef(a json.RawMessage, method string) (n uint64, hash string, byHash, ok bool) {
	if strings.HasSuffix(method, "ByHash") || strings.HasSuffix(method, "HashAndIndex") {
		h, ok := hashArg(a)
		return 0, h, true, ok
	}
	if n, ok := numberArg(a); ok {
		return n, "", false, true
	}
	if method == "eth_getBlockReceipts" {
		h, ok := hashArg(a)
		return 0, h, true, ok
	}
	return 0, "", false, false
}

func hashArg(a json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(a, &s) != nil || !isHash(s) {
		return "", false
	}
	return strings.ToLower(s), true
}

// numberArg reads a block number; tags other than "earliest" are not
// settled and go to nodes.
func numberArg(a json.RawMessage) (uint64, bool) {
	var s string
	if json.Unmarshal(a, &s) != nil {
		return 0, false
	}
	if s == "earliest" {
		return 0, true
	}
	n, err := parseQuantity(s)
	return n, err == nil
}

// Reason classifies a store error for the fall-through counter.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrMissing):
		return "missing"
	case errors.Is(err, context.DeadlineExceeded):
		return "slow"
	}
	return "unavailable"
}
