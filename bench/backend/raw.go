package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"time"
)

// serveRaw is a minimal HTTP/1.1 server for canned JSON-RPC answers. It is
// only as much HTTP as proxies and load generators send to a node.
func serveRaw(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		go serveConn(c)
	}
}

var (
	hdrOK       = []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ")
	hdrEnd      = []byte("\r\n\r\n")
	hdrClose    = []byte("\r\nConnection: close\r\n\r\n")
	resp405     = []byte("HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\nPOST only\n")
	resp400     = []byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbad request\n")
	continue100 = []byte("HTTP/1.1 100 Continue\r\n\r\n")
	hContentLen = []byte("content-length:")
	hTransferEn = []byte("transfer-encoding:")
	hConnection = []byte("connection:")
	hExpect     = []byte("expect:")
)

const maxBody = 16 << 20

// hasPrefixFold reports whether line starts with lower-case prefix p, ignoring
// ASCII case in line.
func hasPrefixFold(line, p []byte) bool {
	if len(line) < len(p) {
		return false
	}
	for i, c := range p {
		b := line[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if b != c {
			return false
		}
	}
	return true
}

func containsFold(v []byte, word string) bool {
	return bytes.Contains(bytes.ToLower(v), []byte(word))
}

func serveConn(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 16<<10)
	bw := bufio.NewWriterSize(c, 16<<10)
	body := make([]byte, 0, 4096)
	out := make([]byte, 0, 4096)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		if len(bytes.TrimSpace(line)) == 0 { // tolerate stray CRLF between requests
			continue
		}
		isPost := bytes.HasPrefix(line, []byte("POST "))
		http10 := bytes.Contains(line, []byte("HTTP/1.0"))
		cl, chunked, closeConn, expect := -1, false, http10, false
		for {
			h, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(h) <= 2 && (len(h) == 1 || h[0] == '\r') {
				break
			}
			switch {
			case hasPrefixFold(h, hContentLen):
				n, err := strconv.Atoi(string(bytes.TrimSpace(h[len(hContentLen):])))
				if err != nil || n < 0 || n > maxBody {
					bw.Write(resp400)
					bw.Flush()
					return
				}
				cl = n
			case hasPrefixFold(h, hTransferEn):
				chunked = containsFold(h[len(hTransferEn):], "chunked")
			case hasPrefixFold(h, hConnection):
				v := h[len(hConnection):]
				if containsFold(v, "close") {
					closeConn = true
				} else if containsFold(v, "keep-alive") {
					closeConn = false
				}
			case hasPrefixFold(h, hExpect):
				expect = containsFold(h[len(hExpect):], "100-continue")
			}
		}
		if !isPost {
			bw.Write(resp405)
			bw.Flush()
			return
		}
		if expect {
			bw.Write(continue100)
			bw.Flush()
		}
		switch {
		case chunked:
			body, err = readChunked(br, body[:0])
		case cl >= 0:
			if cap(body) < cl {
				body = make([]byte, cl)
			}
			body = body[:cl]
			_, err = io.ReadFull(br, body)
		default:
			body = body[:0]
		}
		if err != nil {
			return
		}

		out = respond(out[:0], body)
		bw.Write(hdrOK)
		var num [20]byte
		bw.Write(strconv.AppendInt(num[:0], int64(len(out)), 10))
		if closeConn {
			bw.Write(hdrClose)
		} else {
			bw.Write(hdrEnd)
		}
		bw.Write(out)
		// Flush unless more pipelined requests are already buffered.
		if closeConn || br.Buffered() == 0 {
			if bw.Flush() != nil || closeConn {
				return
			}
		}
	}
}

// readChunked appends a chunked request body to dst.
func readChunked(br *bufio.Reader, dst []byte) ([]byte, error) {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return dst, err
		}
		sz := bytes.TrimSpace(line)
		if i := bytes.IndexByte(sz, ';'); i >= 0 {
			sz = sz[:i]
		}
		n, err := strconv.ParseUint(string(sz), 16, 32)
		if err != nil || len(dst)+int(n) > maxBody {
			return dst, errors.New("bad chunk")
		}
		if n == 0 { // trailers until blank line
			for {
				t, err := br.ReadSlice('\n')
				if err != nil {
					return dst, err
				}
				if len(bytes.TrimSpace(t)) == 0 {
					return dst, nil
				}
			}
		}
		start := len(dst)
		dst = append(dst, make([]byte, n)...)
		if _, err := io.ReadFull(br, dst[start:]); err != nil {
			return dst, err
		}
		if _, err := br.Discard(2); err != nil { // CRLF after chunk data
			return dst, err
		}
	}
}
