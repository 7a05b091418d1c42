package frontend

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FuzzListener feeds the public listener raw bytes (request line, headers,
// body, pipelined requests) over one connection and checks what comes
// back: the server never panics, and every answer is a valid HTTP response
// whose body is JSON-RPC (or empty, or one of the plain-text probe
// answers); after the last answer the connection is closed.
func FuzzListener(f *testing.F) {
	call := `{"jsonrpc":"2.0","id":1,"method":"admin_x"}`
	post := func(path, body string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	}
	for _, s := range []string{
		post("/eth", call),
		post("/eth", "["+call+","+call+"]") + post("/eth/key-0123456789abcdef", call) + post("/nope", "{}"),
		post("/eth", `{"jsonrpc":"2.0","id":1,"method":"eth_chainId","Method":"admin_x"}`),
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\nOPTIONS /eth HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /eth HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[1,2]\r\n0\r\n\r\n",
		"POST /eth HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n",
		"POST /eth/key-0123456789abcdef?key=x HTTP/1.1\r\nX-Api-Key: y\r\nContent-Length: 2\r\n\r\n{}POST /nope HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]",
		"GET /readyz HTTP/1.1\r\n\r\nOPTIONS /eth HTTP/1.1\r\n\r\nGET /eth HTTP/1.0\r\n\r\n",
		"POST /eth HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n{",
		"POST /eth HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
		"POST /eth HTTP/1.1\r\nContent-Length: 39\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"admin_x\"}\n",
		"\x00\xff garbage\r\n\r\n",
		"POST\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	s := bodyLimitServer(f, 1<<10)
	srv := s.HTTPServer(slog.New(slog.DiscardHandler))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c := &fuzzConn{in: bytes.NewReader(raw)}
		done := make(chan error, 1)
		go func() { done <- srv.ServeConn(c) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("connection not finished after its input ended: %q", raw)
		}
		out := c.output()
		br := bufio.NewReader(bytes.NewReader(out))
		for n := 0; ; n++ {
			if _, err := br.Peek(1); err == io.EOF {
				return // the connection closed after whole answers
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("answer %d is not HTTP (%v): %q\ninput %q", n, err, out, raw)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("answer %d body (%v): %q\ninput %q", n, err, out, raw)
			}
			checkAnswer(t, resp, body, raw)
		}
	})
}

// checkAnswer accepts an empty body, a probe's plain text, or JSON-RPC.
func checkAnswer(t *testing.T, resp *http.Response, body, raw []byte) {
	t.Helper()
	ct := resp.Header.Get("Content-Type")
	switch {
	case len(body) == 0:
	case strings.HasPrefix(ct, "text/plain") && (string(body) == "ok\n" || string(body) == "ready\n" ||
		string(body) == "shutting down\n" || strings.HasPrefix(string(body), "checking nodes of chain ")):
	case ct == "application/json" && isJSONRPC(body):
	default:
		t.Fatalf("HTTP %d %q body is not JSON-RPC: %q\ninput %q", resp.StatusCode, ct, body, raw)
	}
}

func isJSONRPC(body []byte) bool {
	var one struct {
		JSONRPC string          `json:"jsonrpc"`
		Result  json.RawMessage `json:"result"`
		Error   *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &one) == nil {
		return one.JSONRPC == "2.0" && (one.Result != nil || one.Error != nil && one.Error.Message != "")
	}
	var many []json.RawMessage
	if json.Unmarshal(body, &many) != nil || len(many) == 0 {
		return false
	}
	for _, m := range many {
		if !isJSONRPC(m) {
			return false
		}
	}
	return true
}

// fuzzConn is a client connection that sends its input, then ends its
// stream, and records what the server writes.
type fuzzConn struct {
	in       *bytes.Reader
	mu       sync.Mutex
	out      bytes.Buffer
	shutWrit bool
}

func (c *fuzzConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.in.Read(p)
}

func (c *fuzzConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shutWrit {
		return 0, net.ErrClosed // as a TCP socket after shutdown(SHUT_WR)
	}
	return c.out.Write(p)
}

func (c *fuzzConn) output() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out.Bytes())
}

func (c *fuzzConn) CloseWrite() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shutWrit = true
	return nil
}

func (c *fuzzConn) Close() error        { return nil }
func (c *fuzzConn) LocalAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8545} }
func (c *fuzzConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 40000}
}
func (c *fuzzConn) SetDeadline(time.Time) error      { return nil }
func (c *fuzzConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fuzzConn) SetWriteDeadline(time.Time) error { return nil }
