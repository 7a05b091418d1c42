package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Faults for Proxy.SetFault. Each stands in for something a real node (or
// the network in front of it) does but anvil cannot be made to do on
// demand; the test using one says why it is faithful.

// rpcCall is the part of a single JSON-RPC request a fault looks at.
type rpcCall struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

// parseCall reads a single (non-batch) request; ok is false for anything else.
func parseCall(body []byte) (rpcCall, bool) {
	var c rpcCall
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &c) != nil {
		return rpcCall{}, false
	}
	return c, true
}

// onMethod applies f to single calls of method only; everything else goes
// to the node untouched.
func onMethod(method string, f Fault) Fault {
	return func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if c, ok := parseCall(body); ok && c.Method == method {
			return f(w, r, body)
		}
		return false
	}
}

// firstOf tries faults in order; the first that handles the request wins.
func firstOf(fs ...Fault) Fault {
	return func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		for _, f := range fs {
			if f(w, r, body) {
				return true
			}
		}
		return false
	}
}

// dropConnection closes the gateway's connection without forwarding or
// answering.
func dropConnection(w http.ResponseWriter, _ *http.Request, _ []byte) bool {
	abortConn(w)
	return true
}

// forwardThenDrop delivers the request to the node, waits for the node's
// answer, and then closes the gateway's connection without passing the
// answer on: the node got and processed the call, the reply was lost.
func forwardThenDrop(nodeURL string) Fault {
	return func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		_ = send(nodeURL, nil, body) // the node's answer is read, then lost
		abortConn(w)
		return true
	}
}

// answerRPCError answers with HTTP 200 and a JSON-RPC error carrying the
// request's own id, as a node does.
func answerRPCError(code int, msg string) Fault {
	return func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		c, _ := parseCall(body)
		id := c.ID
		if len(id) == 0 {
			id = json.RawMessage("null")
		}
		out := fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":%q}}`, id, code, msg)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, out)
		return true
	}
}

// stall holds the request without answering until the gateway gives up on
// it (its connection closes, ending the request's context) or stop closes.
// Each stalled request is announced on started when it has room.
func stall(stop <-chan struct{}, started chan<- struct{}) Fault {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		select {
		case started <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-stop:
		case <-time.After(5 * time.Minute): // never outlive a broken test by much
		}
		abortConn(w)
		return true
	}
}

// closeAfterReply makes the proxy close every connection after answering,
// so the gateway keeps no idle connection to the node and each of its calls
// dials anew.
func closeAfterReply(w http.ResponseWriter, _ *http.Request, _ []byte) bool {
	w.Header().Set("Connection", "close")
	return false
}
