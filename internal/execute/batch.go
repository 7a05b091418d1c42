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

// once reports an element that must not be sent twice once it may have
// reached a node: a write, or a notification (sent once, to one node).
func (it *Item) once() bool { return it.write || it.Req.IsNotification() }

// BatchResult is a batch's answers in client order.
type BatchResult struct {
	Items    []Item
	resps    []*node.Response
	mu       sync.Mutex // guards resps, nodes, attempts and the record's attempts
	nodes    []string
	attempts int
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

// usedLocked notes an attempt on node n; b.mu is held.
func (b *BatchResult) usedLocked(n string) {
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
// when its part times out. Every upstream try is appended to rec (nil: not
// recorded).
func (e *Executor) Batch(ctx context.Context, c *fleet.Chain, class schedule.Class, items []Item, rec *relay.Record) *BatchResult {
	res := &BatchResult{Items: items}
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
	log := attemptLog{mu: &res.mu, rec: rec, res: res}
	var wg sync.WaitGroup
	for g, idx := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.part(ctx, c, g, class, res, idx, log)
		}()
	}
	wg.Wait()
	return res
}

// part runs one group's share of a batch. Elements whose node answered
// "not yet" are tried again on another node; a write or a notification is
// never re-sent once a request carrying it may have reached a node. When
// the node answers the whole part with one error object (anvil does for
// one unknown method) or the part is too large for the nodes, the part is
// split and each element runs as a call of its own.
func (e *Executor) part(ctx context.Context, c *fleet.Chain, g *fleet.Group, class schedule.Class, res *BatchResult, idx []int, log attemptLog) {
	timeout := c.Timeout()
	for _, i := range idx {
		timeout = max(timeout, c.TimeoutFor(res.Items[i].Req.Method))
	}
	dctx := withDeadline(ctx, time.Now().Add(timeout))
	p := &part{c: c, res: res, pending: append([]int(nil), idx...), held: map[int]jsonrpc.Response{}}
	r := run{e: e, c: c, g: g, class: class, ctx: dctx, deadline: dctx.deadline, log: log, part: p}
	r.exec(e.strategy())
	if !p.split {
		if ne, ok := node.AsError(r.lastErr); ok && ne.Kind == node.KindRequestTooLarge && len(p.pending) > 1 {
			p.split = true
		}
	}
	if p.split {
		e.elements(dctx, c, g, class, res, p, log)
		return
	}
	p.finish(&r)
}

// part is the engine's work for one batch part.
type part struct {
	c       *fleet.Chain
	res     *BatchResult
	pending []int
	held    map[int]jsonrpc.Response // "not yet" answers kept as a last resort
	rs      []jsonrpc.Response
	inPart  []bool
	split   bool // go element by element
}

func (p *part) once() bool {
	for _, i := range p.pending {
		if p.res.Items[i].once() {
			return true
		}
	}
	return false
}

func (p *part) next(dst []byte) ([]byte, evm.BlockRef, bool) {
	if len(p.pending) == 0 || p.split {
		return nil, evm.BlockRef{}, false
	}
	return buildPart(dst[:0], p.res.Items, p.pending), partRef(p.res.Items, p.pending), p.once()
}

func (p *part) answered(n *node.Node, resp *node.Response, a *relay.Attempt) (Verdict, error) {
	items := p.res.Items
	if p.onlyNotifications() {
		// Nothing is expected back; anything the node sent ends them.
		resp.Release()
		p.pending = p.pending[:0]
		if resp.Status >= 400 {
			err := n.Refused(resp.Status, nil)
			describe(a, err)
			return Stopped, err
		}
		a.Outcome = relay.OutcomeOK
		return Won, nil
	}
	rs, err := jsonrpc.ScanResponseBatch(resp.Body, p.rs[:0])
	p.rs = rs
	if err != nil {
		resp.Release()
		err = n.Refused(resp.Status, err)
		describe(a, err)
		p.dropSent(err)
		return p.more(false), err
	}
	if len(rs) == 1 && rs[0].Err != nil && !p.owns(rs[0].ID) {
		// One error object for the whole part: the node refused the batch
		// as a whole (anvil does for one unknown method). Writes and
		// notifications reached it and get what it said; reads go on one
		// by one.
		p.res.keep(resp)
		a.Outcome, a.Code = relay.OutcomeRPCError, rs[0].Err.Code
		next := p.pending[:0]
		for _, i := range p.pending {
			it := &items[i]
			switch {
			case it.Req.IsNotification():
			case it.write:
				it.rpcErr = rs[0].Err
				e := rs[0].Err // its object may lack an id to splice: rebuild it
				it.answer = jsonrpc.AppendError(nil, idOrNull(it.Req.ID), e.Code, e.Message, e.Data)
			default:
				next = append(next, i)
			}
		}
		p.pending = next
		p.split = len(next) > 0
		return Stopped, nil
	}
	p.res.keep(resp)
	a.Outcome = relay.OutcomeOK
	if cap(p.inPart) < len(items) {
		p.inPart = make([]bool, len(items))
	}
	inPart := p.inPart[:len(items)]
	clear(inPart)
	for _, i := range p.pending {
		inPart[i] = true
	}
	answered := 0
	for _, r := range rs {
		i, ok := internalID(r.ID)
		if !ok || i >= len(items) || !inPart[i] {
			continue
		}
		it := &items[i]
		if it.Req.IsNotification() {
			continue // sent without an id: an answer for it is the node's mistake
		}
		if r.Err != nil && !it.write && retryable(evm.Classify(r.Err)) {
			p.held[i] = r
			continue
		}
		inPart[i] = false // answered
		it.rpcErr = r.Err
		it.answer = restore(p.c, n, it, r)
		answered++
	}
	next := p.pending[:0]
	for _, i := range p.pending {
		it := &items[i]
		switch {
		case !inPart[i], it.Req.IsNotification():
		case it.write:
			it.failed = true
			it.answer = jsonrpc.AppendError(nil, idOrNull(it.Req.ID), CodeUpstream,
				"node "+n.Name()+" returned no answer for this write; not retried to avoid sending it twice", nil)
		default:
			next = append(next, i)
		}
	}
	p.pending = next
	return p.more(answered > 0), nil
}

// more is the verdict once an attempt is judged: Won when nothing is left.
func (p *part) more(progress bool) Verdict {
	switch {
	case len(p.pending) == 0:
		return Won
	case progress:
		return Partial
	}
	return Failed
}

// owns reports whether id is the internal id of a pending element.
func (p *part) owns(id []byte) bool {
	i, ok := internalID(id)
	if !ok {
		return false
	}
	for _, j := range p.pending {
		if j == i {
			return true
		}
	}
	return false
}

func (p *part) onlyNotifications() bool {
	for _, i := range p.pending {
		if !p.res.Items[i].Req.IsNotification() {
			return false
		}
	}
	return true
}

func (p *part) failed(err error) Verdict {
	if ne, ok := node.AsError(err); !ok || !ne.NotSent() {
		p.dropSent(err)
	}
	if len(p.pending) == 0 {
		return Stopped
	}
	return Failed
}

// dropSent answers and removes the writes of a part whose request may
// have reached a node without an answer, and drops its notifications
// (they were sent once).
func (p *part) dropSent(err error) {
	next := p.pending[:0]
	for _, i := range p.pending {
		it := &p.res.Items[i]
		switch {
		case it.Req.IsNotification():
		case it.write:
			it.failed = true
			ge := gatewayError(context.Background(), err, true)
			it.answer = jsonrpc.AppendError(nil, idOrNull(it.Req.ID), ge.Code, ge.Message, nil)
		default:
			next = append(next, i)
		}
	}
	p.pending = next
}

// finish answers what is still pending when the run ends.
func (p *part) finish(r *run) {
	for _, i := range p.pending {
		it := &p.res.Items[i]
		if it.Req.IsNotification() {
			continue
		}
		if h, ok := p.held[i]; ok {
			it.rpcErr = h.Err
			it.answer = jsonrpc.SpliceID(h.Raw, h.IDStart, h.IDEnd, idOrNull(it.Req.ID), nil)
			continue
		}
		ge := gatewayError(r.ctx, r.lastErr, false)
		it.failed = true
		it.answer = jsonrpc.AppendError(nil, idOrNull(it.Req.ID), ge.Code, ge.Message, nil)
	}
}

// splitWorkers bounds the calls in flight when a part goes element by
// element.
const splitWorkers = 8

// elements runs a split part's pending elements each as a call of its own,
// with the client's own bytes, and answers each with what its node said.
func (e *Executor) elements(ctx context.Context, c *fleet.Chain, g *fleet.Group, class schedule.Class, res *BatchResult, p *part, log attemptLog) {
	sem := make(chan struct{}, splitWorkers)
	var wg sync.WaitGroup
	for _, i := range p.pending {
		it := &res.Items[i]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := run{e: e, c: c, g: g, class: class, ctx: ctx, deadline: deadlineOf(ctx), log: log, one: single{
				c: c, req: it.Req, body: it.Req.Raw, ref: evm.Block(it.Req.Method, it.Req.Params),
				write: it.write, notify: it.Req.IsNotification()}}
			r.exec(e.strategy())
			ans := r.one.finish(r.ctx, r.lastErr, r.started)
			switch {
			case ans.resp != nil:
				res.keep(ans.resp)
				it.answer = ans.Body
			case ans.Err != nil:
				it.failed = true
				it.answer = jsonrpc.AppendError(nil, idOrNull(it.Req.ID), ans.Err.Code, ans.Err.Message, nil)
			default:
				it.answer = ans.Body
			}
			it.rpcErr = r.one.rpcErr
			if it.Req.IsNotification() {
				it.answer = nil
			}
		}()
	}
	wg.Wait()
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// restore gives a node's answer element back its client id; an
// eth_blockNumber answer is kept from going backwards.
func restore(c *fleet.Chain, n *node.Node, it *Item, r jsonrpc.Response) []byte {
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
