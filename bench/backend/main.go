// Command backend is the canned JSON-RPC server used by bench/run.sh. It is
// deliberately not a JSON-RPC implementation: it finds "method" and "id" with
// byte searches and answers with a fixed result per method, echoing the id, so
// that in a benchmark the proxy in front of it is what gets measured.
//
// By default it speaks a minimal HTTP/1.1 of its own (keep-alive, pipelining,
// Content-Length or chunked request bodies, Expect: 100-continue): on a small
// machine the backend shares the CPU with the proxy under test, so every
// microsecond it saves sharpens the comparison. -nethttp serves the same
// answers through net/http instead, to cross-check.
//
//	backend -addr 127.0.0.1:9000   serve
//	backend -ports 3               print 3 distinct free loopback ports and exit
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// Canned results, keyed by method name. All are raw JSON values.
var results = map[string][]byte{
	"eth_chainId":          []byte(`"0x539"`),
	"net_version":          []byte(`"1337"`),
	"eth_blockNumber":      []byte(`"0x12a05f2"`),
	"web3_clientVersion":   []byte(`"rpcgate-bench-backend/1.0"`),
	"eth_getBlockByNumber": []byte(blockJSON),
}

// blockJSON is a realistic ~2 KB mainnet-style block (header, bloom and 12
// transaction hashes, no full transactions).
const blockJSON = `{"baseFeePerGas":"0x3b9aca00","blobGasUsed":"0x0","difficulty":"0x0","excessBlobGas":"0x0","extraData":"0x6265617665726275696c642e6f7267","gasLimit":"0x1c9c380","gasUsed":"0xa3b2f1","hash":"0x8e38b4dbf6b11fcc3b9dee84fb7986e29ca0a02cecd8977c161ff7333329681e","logsBloom":"0x00a00008000200001004000000000080004000002000000000000100000000004000000000000000000000000000000200000000000000200000000400020000000000000800000008000000000000000000010000000000000000000800000002000000020008000000000000000000100000000000000000000000000000000000000000000000000000020080004000000000008000000000000000000000000000010000000200000000000000000000000000000000080000000000000000000000000000040000000000000000000000000000200000020000100000000000000000000000000000000000000000000000800000000000000000000000","miner":"0x95222290dd7278aa3ddd389cc1e1d165cc4bafe5","mixHash":"0x2f7f0a7a2f9e1a3e5c2ad8d2cbb4e44b0b3c3a1d9f8c7b6a5e4d3c2b1a09f8e7","nonce":"0x0000000000000000","number":"0x12a05f2","parentBeaconBlockRoot":"0x4a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b","parentHash":"0x1d4a3c2b5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b","receiptsRoot":"0x5c3f1e9d7b5a3c1e9f7d5b3a1c9e7f5d3b1a9c7e5f3d1b9a7c5e3f1d9b7a5c3e","sha3Uncles":"0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347","size":"0x1a2b3","stateRoot":"0x7e5c3a1f9d7b5e3c1a9f7d5b3e1c9a7f5d3b1e9c7a5f3d1b9e7c5a3f1d9b7e5c","timestamp":"0x65f1a2b3","totalDifficulty":"0xc70d815d562d3cfa955","transactions":["0x5d2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f","0x6e3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a","0x7f4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b","0x805c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c","0x916d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d","0xa27e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e","0xb38f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f","0xc4908b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a","0xd5a19c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b","0xe6b2ad9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c","0xf7c3bea9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1","0x08d4cfb0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2"],"transactionsRoot":"0x9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b","uncles":[],"withdrawals":[],"withdrawalsRoot":"0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"}`

var (
	keyMethod  = []byte(`"method"`)
	keyID      = []byte(`"id"`)
	nullID     = []byte(`null`)
	respHead   = []byte(`{"jsonrpc":"2.0","id":`)
	resultKey  = []byte(`,"result":`)
	notFound   = []byte(`,"error":{"code":-32601,"message":"method not found"}}`)
	parseError = []byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`)
	ctJSON     = []string{"application/json"}
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// readBody reads the whole body into a pooled buffer.
func readBody(r io.Reader, buf []byte) ([]byte, error) {
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueAfter returns the raw JSON scalar that follows key (a quoted key
// including quotes) in b: a whole string with quotes, or a number/literal.
func valueAfter(b, key []byte) []byte {
	i := bytes.Index(b, key)
	if i < 0 {
		return nil
	}
	i = skipWS(b, i+len(key))
	if i >= len(b) || b[i] != ':' {
		return nil
	}
	i = skipWS(b, i+1)
	if i >= len(b) {
		return nil
	}
	if b[i] == '"' {
		j := bytes.IndexByte(b[i+1:], '"')
		if j < 0 {
			return nil
		}
		return b[i : i+j+2]
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
		j++
	}
	return b[i:j]
}

// answer appends the response to one request object to out.
func answer(out, req []byte) []byte {
	id := valueAfter(req, keyID)
	if len(id) == 0 {
		id = nullID
	}
	out = append(out, respHead...)
	out = append(out, id...)
	m := valueAfter(req, keyMethod)
	if len(m) >= 2 && m[0] == '"' {
		if res, ok := results[string(m[1:len(m)-1])]; ok { // no alloc: map lookup by string(bytes)
			out = append(out, resultKey...)
			out = append(out, res...)
			return append(out, '}')
		}
	}
	return append(out, notFound...)
}

// respond appends the JSON answer to body (one request or a batch) to out.
func respond(out, body []byte) []byte {
	i := skipWS(body, 0)
	switch {
	case i < len(body) && body[i] == '[': // batch: slow path, rare
		var items []json.RawMessage
		if json.Unmarshal(body, &items) != nil || len(items) == 0 {
			return append(out, parseError...)
		}
		out = append(out, '[')
		for k, it := range items {
			if k > 0 {
				out = append(out, ',')
			}
			out = answer(out, it)
		}
		return append(out, ']')
	case i < len(body) && body[i] == '{':
		return answer(out, body)
	default:
		return append(out, parseError...)
	}
}

func handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	bp := bufPool.Get().(*[]byte)
	op := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	defer bufPool.Put(op)

	body, err := readBody(r.Body, *bp)
	*bp = body[:0]
	if err != nil {
		return
	}
	out := respond((*op)[:0], body)
	*op = out[:0]
	h := w.Header()
	h["Content-Type"] = ctJSON
	h["Content-Length"] = []string{strconv.Itoa(len(out))}
	w.Write(out)
}

func freePorts(n int) error {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ls = append(ls, l)
	}
	for _, l := range ls {
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	ports := flag.Int("ports", 0, "print this many free 127.0.0.1 ports and exit")
	useNetHTTP := flag.Bool("nethttp", false, "serve with net/http instead of the minimal HTTP/1.1 server")
	flag.Parse()
	if *ports > 0 {
		if err := freePorts(*ports); err != nil {
			fmt.Fprintln(os.Stderr, "backend:", err)
			os.Exit(1)
		}
		return
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("backend listening on %s (nethttp=%v)", ln.Addr(), *useNetHTTP)
	if !*useNetHTTP {
		log.Fatal(serveRaw(ln))
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(handle),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	log.Fatal(srv.Serve(ln))
}
