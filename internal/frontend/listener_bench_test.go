package frontend

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"testing"

	"github.com/valyala/fasthttp/fasthttputil"
)

// BenchmarkListenerSmall sends a small denied call through the public
// listener (fasthttp over an in-memory connection, keep-alive): header
// parse, body read, decode, policy and the answer. It is the common case
// that streaming bodies must not slow.
func BenchmarkListenerSmall(b *testing.B) {
	benchListener(b, []byte(`{"jsonrpc":"2.0","id":1,"method":"admin_nodeInfo","params":[]}`))
}

// BenchmarkListenerBatch20KB is the same with a ~20 KB batch (more than
// fasthttp's 8 KB pre-read, so the rest of the body is streamed).
func BenchmarkListenerBatch20KB(b *testing.B) {
	var body bytes.Buffer
	body.WriteByte('[')
	for i := 0; body.Len() < 20<<10; i++ {
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(`{"jsonrpc":"2.0","id":` + strconv.Itoa(i) + `,"method":"admin_nodeInfo","params":[]}`)
	}
	body.WriteByte(']')
	benchListener(b, body.Bytes())
}

func benchListener(b *testing.B, body []byte) {
	s, _ := benchServer(b)
	ln := fasthttputil.NewInmemoryListener()
	srv := s.HTTPServer(slog.New(slog.DiscardHandler))
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Shutdown(); ln.Close() })
	c, err := ln.Dial()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("POST /eth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + string(body))
	br := bufio.NewReader(c)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != 200 {
			b.Fatal(resp.StatusCode, err)
		}
	}
}
