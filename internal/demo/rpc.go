package demo

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// JSON-RPC error codes the simulated nodes use, as go-ethereum does.
const (
	codeParse          = -32700
	codeInvalidRequest = -32600
	codeNoMethod       = -32601
	codeInvalidParams  = -32602
	codeInternal       = -32603
	codeServer         = -32000 // "header not found" and friends
	codeLimit          = -32005
)

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string  { return e.Message }
func (e *rpcError) ErrorCode() int { return e.Code }

func errParams(format string, a ...any) *rpcError {
	return &rpcError{Code: codeInvalidParams, Message: fmt.Sprintf(format, a...)}
}

var errHeaderNotFound = &rpcError{Code: codeServer, Message: "header not found"}

// request is one JSON-RPC call. ID keeps the raw bytes so it is echoed
// verbatim; a nil ID means a notification.
type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

func (r *request) isNotification() bool { return r.ID == nil }

// writeResponse appends one response object to buf. result must already be
// JSON; exactly one of result and err is used.
func writeResponse(buf *bytes.Buffer, id json.RawMessage, result []byte, err *rpcError) {
	buf.WriteString(`{"jsonrpc":"2.0","id":`)
	if id == nil {
		buf.WriteString("null")
	} else {
		buf.Write(id)
	}
	if err != nil {
		e, _ := json.Marshal(err)
		buf.WriteString(`,"error":`)
		buf.Write(e)
	} else {
		buf.WriteString(`,"result":`)
		buf.Write(result)
	}
	buf.WriteByte('}')
}

// positional decodes params as a JSON array (absent params is an empty one).
func positional(raw json.RawMessage) ([]json.RawMessage, *rpcError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] != '[' {
		return nil, errParams("non-array args")
	}
	var args []json.RawMessage
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, errParams("invalid params: %v", err)
	}
	return args, nil
}

func argString(args []json.RawMessage, i int) (string, *rpcError) {
	if i >= len(args) {
		return "", errParams("missing value for required argument %d", i)
	}
	var s string
	if err := json.Unmarshal(args[i], &s); err != nil {
		return "", errParams("invalid argument %d: %v", i, err)
	}
	return s, nil
}

// parseQuantity parses a hex quantity the way go-ethereum's hexutil does:
// 0x prefix, no leading zeros, at most 64 bits.
func parseQuantity(s string) (uint64, error) {
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return 0, fmt.Errorf("hex string without 0x prefix")
	}
	digits := s[2:]
	switch {
	case digits == "":
		return 0, fmt.Errorf("hex string \"0x\"")
	case len(digits) > 1 && digits[0] == '0':
		return 0, fmt.Errorf("hex number with leading zero digits")
	case len(digits) > 16:
		return 0, fmt.Errorf("hex number > 64 bits")
	}
	return strconv.ParseUint(digits, 16, 64)
}

// parseData decodes 0x-prefixed hex bytes.
func parseData(s string) ([]byte, error) {
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return nil, fmt.Errorf("hex string without 0x prefix")
	}
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("hex string of odd length")
	}
	return hex.DecodeString(s[2:])
}

func parseAddress(s string) ([20]byte, error) {
	var a [20]byte
	b, err := parseData(s)
	if err != nil {
		return a, err
	}
	if len(b) != 20 {
		return a, fmt.Errorf("hex string has length %d, want 40 for common.Address", len(b)*2)
	}
	copy(a[:], b)
	return a, nil
}

func parseHash(s string) ([32]byte, error) {
	var h [32]byte
	b, err := parseData(s)
	if err != nil {
		return h, err
	}
	if len(b) != 32 {
		return h, fmt.Errorf("hex string has length %d, want 64 for common.Hash", len(b)*2)
	}
	copy(h[:], b)
	return h, nil
}

func hexUint(n uint64) string   { return "0x" + strconv.FormatUint(n, 16) }
func hexBytes(b []byte) string  { return "0x" + hex.EncodeToString(b) }
func hexHash(h [32]byte) string { return hexBytes(h[:]) }
