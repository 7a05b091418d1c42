package execute

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rpcgate/rpcgate/internal/evm"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/schedule"
)

// Item is one element of a client batch as the executor sees it.
type Item struct {
	Req   *jsonrpc.Request
	Group *fleet.Group // nil when the element is answered without a node
	// Pre is set when the element is answered without a node (invalid,
	// denied); it is a ready JSON-RPC error.
	Pre *jsonrpc.Error

	answer []byte // the element's final JSON, id restored
	write  bool
	failed bool           // answered by the gateway because no node could
	rpcErr *jsonrpc.Error // the node's error object the element was answered with
}

// Outcome classifies the item's answer for metrics.
func (it *Item) Outcome() fleet.Outcome {
	switch {
	case it.failed:
		return fleet.OutcomeFailed
	case it.rpcErr != nil:
		return fleet.OutcomeRPCError
	}
	return fleet.OutcomeOK
}

// RPCError is the node's JSON-RPC error object the element was answered
// with (Outcome is fleet.OutcomeRPCError), else nil. Its strings may alias
// the node's answer: valid until BatchResult.Release.
func (it *Item) RPCError() *jsonrpc.Error { return it.rpcErr }

// answeredWith notes a node's error object as the element's answer.
func (it *Item) answeredWith(e *jsonrpc.Error) { it.rpcErr = e }

// BatchResult is a batch's answers in client order.
type BatchResult struct {
	Items    []Item
	resps    []*node.Response
	mu       sync.Mutex
	nodes    []string
	attempts int
	rec      *relay.Record // may be nil; appended under mu
}

// record appends one attempt to the relay record; parts run concurrently.
func (b *BatchResult) record(a relay.Attempt) {
	if b.rec == nil {
		return
	}
	b.mu.Lock()
	b.rec.AddAttempt(a)
	b.mu.Unlock()
}

// Nodes lists the nodes that answered parts of the batch, comma-separated.
func (b *BatchResult) Nodes() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.nodes, ",")
}

// Attempts is the number of upstream requests the batch took.
func (b *BatchResult) Attempts() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.attempts
}

func (b *BatchResult) used(n string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.attempts++
	for _, x := range b.nodes {
		if x == n {
			return
		}
	}
	b.nodes = append(b.nodes, n)
}

// Release frees the node responses the answers alias.
func (b *BatchResult) Release() {
	for _, r := range b.resps {
		r.Release()
	}
	b.resps = b.resps[:0]
}

// AppendTo writes the batch answer as a JSON array, skipping
// notifications. It reports false when there is nothing to answer.
func (b *BatchResult) AppendTo(dst []byte) ([]byte, bool) {
	any := false
	dst = append(dst, '[')
	for i := range b.Items {
		it := &b.Items[i]
		if it.answer == nil {
			continue
		}
		if any {
			dst = append(dst, ',')
		}
		dst = append(dst, it.answer...)
		any = true
	}
	return append(dst, ']'), any
}

func (b *BatchResult) keep(r *node.Response) {
	b.mu.Lock()
	b.resps = append(b.resps, r)
	b.mu.Unlock()
}

// Batch runs items, grouped by their node group, each group's part as one
// upstream batch, the parts concurrently. Every call gets an answer, even
// when its part times out. Each upstream try is appended to rec (which may
// be nil).
func (e *Executor) Batch(ctx context.Context, c *fleet.Chain, class schedule.Class, items []Item, rec *relay.Record) *BatchResult {
	res := &BatchResult{Items: items, rec: rec}
	parts := map[*fleet.Group][]int{}
	for i := range items {
		it := &items[i]
		if it.Pre != nil {
			if !it.Req.IsNotification() || it.Req.Err != nil {
				it.answer = jsonrpc.AppendError(nil, idOrNull(it.Req.ID), it.Pre.Code, it.Pre.Message, it.Pre.Data)
			}
			continue
		}
		it.write = c.IsWrite(it.Req.Method)
		parts[it.Group] = append(parts[it.Group], i)
	}
	var wg sync.WaitGroup
	for g, idx := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.part(ctx, c, g, class, res, idx)
		}()
	}
	wg.Wait()
	return res
}

// part runs one group's share of a batch. Elements whose node answered
// "not yet" are tried again on another node; a write is never re-sent once
// a request carrying it may have reached a node.
func (e *Executor) part(ctx context.Context, c *fleet.Chain, g *fleet.Group, class schedule.Class, res *BatchResult, idx []int) {
	timeout := c.Timeout()
	for _, i := range idx {
		timeout = max(timeout, c.TimeoutFor(res.Items[i].Req.Method))
	}
	deadline := time.Now().Add(timeout)
	dctx := withDeadline(ctx, deadline)
	ctx, deadline = dctx, dctx.deadline

	pending := append([]int(nil), idx...)
	held := map[int]jsonrpc.Response{} // "not yet" answers kept as a last resort
	var (
		t        tried
		fellBack bool
		lastErr  error
		body     []byte
		rs       []jsonrpc.Response
		inPart   = make([]bool, len(res.Items))
	)
	for attempt := 0; attempt < c.MaxAttempts() && len(pending) > 0 && ctx.Err() == nil; attempt++ {
		n, grp := e.pick(c, g, partRef(res.Items, pending), &t)
		if n == nil {
			break
		}
		t.add(n)
		res.used(n.Name())
		if attempt > 0 {
			g.CountRetry()
		}
		if grp != g && !fellBack {
			fellBack = true
			g.CountFallback()
		}
		body = buildPart(body[:0], res.Items, pending)
		start := time.Now()
		resp, err := n.Do(ctx, class, deadline, body)
		if err != nil {
			res.record(failedAttempt(ctx, n.Name(), start, err))
			lastErr = err
			if ne, ok := node.AsError(err); !ok || !ne.NotSent() {
				pending = dropSentWrites(res.Items, pending, err)
			}
			continue
		}
		rs, err = jsonrpc.ScanResponseBatch(resp.Body, rs[:0])
		if err != nil {
			lastErr = n.ReportBadResponse(err)
			res.record(failedAttempt(ctx, n.Name(), start, lastErr))
			resp.Release()
			pending = dropSentWrites(res.Items, pending, lastErr)
			continue
		}
		res.record(answeredAttempt(n.Name(), start, nil, relay.OutcomeOK, len(resp.Body)))
		res.keep(resp)
		clear(inPart)
		for _, i := range pending {
			inPart[i] = true
		}
		answered := map[int]bool{}
		for _, r := range rs {
			i, ok := internalID(r.ID)
			if !ok || i >= len(res.Items) || !inPart[i] {
				continue
			}
			it := &res.Items[i]
			if r.Err != nil && !it.write && retryable(evm.Classify(r.Err)) {
				held[i] = r
				continue
			}
			it.answer = e.restore(c, n, it, r)
			it.answeredWith(r.Err)
			answered[i] = true
		}
		next := pending[:0]
		for _, i := range pending {
			it := &res.Items[i]
			switch {
			case answered[i], it.Req.IsNotification():
			case it.write:
				it.failed = true
				it.answer = jsonrpc.AppendError(nil, idOrNull(it.Req.ID), CodeUpstream,
					"node "+n.Name()+" returned no answer for this write; not retried to avoid sending it twice", nil)
			default:
				next = append(next, i)
			}
		}
		pending = next
	}
	for _, i := range pending {
		it := &res.Items[i]
		if it.Req.IsNotification() {
			continue
		}
		if r, ok := held[i]; ok {
			it.answer = jsonrpc.SpliceID(r.Raw, r.IDStart, r.IDEnd, idOrNull(it.Req.ID), nil)
			it.answeredWith(r.Err)
			continue
		}
		ge := gatewayError(ctx, lastErr, false)
		it.failed = true
		it.answer = jsonrpc.AppendError(nil, idOrNull(it.Req.ID), ge.Code, ge.Message, nil)
	}
}

// restore gives a node's answer element back its client id; an
// eth_blockNumber answer is kept from going backwards.
func (e *Executor) restore(c *fleet.Chain, n *node.Node, it *Item, r jsonrpc.Response) []byte {
	id := idOrNull(it.Req.ID)
	if r.Err == nil && it.Req.Method == "eth_blockNumber" {
		if v, ok := evm.ParseQuantity(r.Result); ok {
			n.ObserveHead(v)
			if served, clamped := c.ServeBlockNumber(v); clamped {
				return jsonrpc.AppendResult(nil, id, evm.AppendQuantity(nil, served))
			}
		}
	}
	return jsonrpc.SpliceID(r.Raw, r.IDStart, r.IDEnd, id, nil)
}

// dropSentWrites answers and removes the writes of a part whose request may
// have reached a node without an answer.
func dropSentWrites(items []Item, pending []int, err error) []int {
	next := pending[:0]
	for _, i := range pending {
		it := &items[i]
		if it.write {
			it.failed = true
			ge := gatewayError(context.Background(), err, true)
			it.answer = jsonrpc.AppendError(nil, idOrNull(it.Req.ID), ge.Code, ge.Message, nil)
			continue
		}
		next = append(next, i)
	}
	return next
}

// buildPart writes the upstream batch for pending elements, each call's id
// replaced by its index in the client batch so answers map back even when
// client ids repeat.
func buildPart(dst []byte, items []Item, pending []int) []byte {
	dst = append(dst, '[')
	for k, i := range pending {
		if k > 0 {
			dst = append(dst, ',')
		}
		r := items[i].Req
		if r.ID == nil {
			dst = append(dst, r.Raw...)
			continue
		}
		dst = jsonrpc.SpliceID(r.Raw, r.IDStart, r.IDEnd, strconv.AppendInt(nil, int64(i), 10), dst)
	}
	return append(dst, ']')
}

// partRef is the strictest block requirement among the pending elements.
func partRef(items []Item, pending []int) evm.BlockRef {
	out := evm.BlockRef{Kind: evm.BlockAny}
	for _, i := range pending {
		r := evm.Block(items[i].Req.Method, items[i].Req.Params)
		switch {
		case r.Kind == evm.BlockLatest:
			return r
		case r.Kind == evm.BlockNumber && (out.Kind != evm.BlockNumber || r.Number > out.Number):
			out = r
		}
	}
	return out
}

func internalID(raw []byte) (int, bool) {
	if len(raw) == 0 || len(raw) > 9 {
		return 0, false
	}
	v := 0
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

var null = []byte("null")

func idOrNull(id []byte) []byte {
	if id == nil {
		return null
	}
	return id
}
