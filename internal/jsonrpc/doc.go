// Package jsonrpc reads and writes JSON-RPC 2.0 messages on the gateway's hot
// path without decoding them: a body is validated in one pass and split into
// byte ranges (id, params, each batch element) that alias it, so that params,
// results and errors pass through untouched and ids can be spliced.
//
// The scanner is hand-written. Measured against the candidates on a typical
// request and a 100-element batch (see BenchmarkDecodeSingle and
// BenchmarkDecodeBatch100), validating and splitting costs about what
// fastjson.Validate alone costs, half of fastjson.Validate followed by
// buger/jsonparser lookups, and a thirteenth of encoding/json (which also allocates); fastjson's
// parser cannot hand out raw byte ranges (it copies and unescapes), and
// jsonparser does not validate.
package jsonrpc
