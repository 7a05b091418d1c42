package demo

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// maxBody bounds one request body, as a real node does.
const maxBody = 5 << 20

// following is the node.view value of a node that is at the chain's head.
const following = math.MaxUint64

// node is one simulated Ethereum node: an http.Handler speaking JSON-RPC 2.0
// over POST, single and batch. Its behaviour decides its latency, whether it
// follows the chain's head, and which faults it injects.
type node struct {
	name   string
	kind   behaviour
	chain  *chain
	tuning tuning
	events *events

	// view is the node's own head, or following when it is at the chain's
	// head. Only the laggy behaviour changes it.
	view atomic.Uint64

	rngMu    sync.Mutex
	rng      *rand.Rand // latency jitter and durations
	faultRng *rand.Rand // fault decisions only, so a seed fixes their order

	faultMu        sync.Mutex
	lastFaultEvent time.Time
	faultsMuted    int // faults not reported since lastFaultEvent
}

func newNode(name string, kind behaviour, c *chain, t tuning, ev *events, seed uint64) *node {
	n := &node{
		name:     name,
		kind:     kind,
		chain:    c,
		tuning:   t,
		events:   ev,
		rng:      rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		faultRng: rand.New(rand.NewPCG(seed, 0xd1b54a32d192ed03)),
	}
	n.view.Store(following)
	return n
}

// head is the newest block this node knows about.
func (n *node) head() uint64 {
	if v := n.view.Load(); v != following {
		return v
	}
	return n.chain.Head()
}

func (n *node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: JSON-RPC is served over POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "cannot read request body: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	ctx := r.Context()
	if !sleepCtx(ctx, n.latency()) {
		return
	}

	forceErr := false
	switch f := n.pickFault(); f {
	case faultHTTP500:
		n.reportFault(f, "")
		w.Header().Set("X-Demo-Fault", f.String())
		http.Error(w, "simulated failure: internal server error", http.StatusInternalServerError)
		return
	case faultDrop:
		n.reportFault(f, "")
		dropConnection(w)
		return
	case faultRPCError:
		n.reportFault(f, "")
		w.Header().Set("X-Demo-Fault", f.String())
		forceErr = true
	case faultSlow:
		d := n.slowDelay()
		n.reportFault(f, "for "+d.Round(10*time.Millisecond).String())
		w.Header().Set("X-Demo-Fault", f.String())
		if !sleepCtx(ctx, d) {
			return
		}
	}

	out := n.handle(body, forceErr)
	w.Header().Set("Content-Type", "application/json")
	if out != nil {
		out = append(out, '\n')
	}
	w.Write(out)
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	// HTTP/2 or a wrapped writer: net/http resets the stream for us.
	panic(http.ErrAbortHandler)
}

// handle answers a single request or a batch. It returns nil when there is
// nothing to send (only notifications).
func (n *node) handle(body []byte, forceErr bool) []byte {
	body = bytes.TrimSpace(body)
	var buf bytes.Buffer
	if !json.Valid(body) {
		writeResponse(&buf, nil, nil, &rpcError{Code: codeParse, Message: "parse error"})
		return buf.Bytes()
	}
	if body[0] != '[' {
		if !n.handleOne(&buf, body, forceErr) {
			return nil
		}
		return buf.Bytes()
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil || len(items) == 0 {
		writeResponse(&buf, nil, nil, &rpcError{Code: codeInvalidRequest, Message: "empty batch"})
		return buf.Bytes()
	}
	buf.WriteByte('[')
	mark := buf.Len()
	for _, item := range items {
		start := buf.Len()
		if start > mark {
			buf.WriteByte(',')
		}
		if !n.handleOne(&buf, item, forceErr) {
			buf.Truncate(start)
		}
	}
	if buf.Len() == mark {
		return nil
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// handleOne appends the answer to one call and reports whether it did
// (notifications get none).
func (n *node) handleOne(buf *bytes.Buffer, raw []byte, forceErr bool) bool {
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		writeResponse(buf, nil, nil, &rpcError{Code: codeInvalidRequest, Message: "invalid request"})
		return true
	}
	if req.JSONRPC != "2.0" || req.Method == "" {
		writeResponse(buf, req.ID, nil, &rpcError{Code: codeInvalidRequest, Message: "invalid request"})
		return true
	}
	if forceErr {
		if req.isNotification() {
			return false
		}
		writeResponse(buf, req.ID, nil, &rpcError{Code: codeInternal, Message: "simulated internal error"})
		return true
	}
	result, rerr := n.call(req.Method, req.Params)
	if req.isNotification() {
		return false
	}
	writeResponse(buf, req.ID, result, rerr)
	return true
}

// call runs one method and returns its JSON result or its error.
func (n *node) call(method string, params json.RawMessage) ([]byte, *rpcError) {
	args, rerr := positional(params)
	if rerr != nil {
		return nil, rerr
	}
	res, rerr := n.dispatch(method, args)
	if rerr != nil {
		return nil, rerr
	}
	out, err := json.Marshal(res)
	if err != nil {
		return nil, &rpcError{Code: codeInternal, Message: err.Error()}
	}
	return out, nil
}
