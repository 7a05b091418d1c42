package pipeline

// The cache stage for batch elements: elements the chain's cache holds are
// answered from it and left out of the batch sent to the nodes; the nodes'
// answers to the others are stored when the cache may keep them. Batch
// elements are not coalesced with concurrent calls.

import (
	"context"

	"github.com/rpcgate/rpcgate/internal/cache"
	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

// batchHits is a batch split into cached answers and elements to run.
type batchHits struct {
	cc      *cache.Chain
	answers [][]byte       // by client index; nil: not answered from the cache
	pending []execute.Item // the elements still to run, in client order
	index   []int          // pending[j] is the client's element index[j]
	lookups []cache.Lookup // by pending index
	derived []bool
}

// batchHits looks the batch's elements up in the chain's store, then its
// cache; nil when the chain has neither.
func (p *Pipeline) batchHits(ctx context.Context, c *fleet.Chain, items []execute.Item) *batchHits {
	var cc *cache.Chain
	if p.cache != nil {
		cc = p.cache.For(c.Name)
	}
	if sc := p.stores.For(c.Name); cc == nil && (sc == nil || sc.Reader == nil) {
		return nil
	}
	h := &batchHits{cc: cc, answers: make([][]byte, len(items))}
	for i := range items {
		it := &items[i]
		var l cache.Lookup
		ok := false
		if it.Group != nil && it.Req.IsCall() && !c.IsWrite(it.Req.Method) {
			if a, hit := p.storeAnswer(ctx, c, it.Req); hit {
				h.answers[i] = a
				continue
			}
			if cc != nil {
				l, ok = cache.Derive(c.Name, it.Req.Method, it.Req.Params)
			}
			if ok {
				if t, hit := cc.Get(ctx, &l, it.Req.Method); hit {
					h.answers[i] = t.Append(nil, idOrNull(it.Req.ID))
					continue
				}
			}
		}
		h.pending = append(h.pending, *it)
		h.index = append(h.index, i)
		h.lookups = append(h.lookups, l)
		h.derived = append(h.derived, ok)
	}
	return h
}

// account counts the elements answered from the cache.
func (h *batchHits) account(ctx context.Context, p *Pipeline, c *fleet.Chain, items []execute.Item, id Caller) {
	for i, a := range h.answers {
		if a == nil {
			continue
		}
		it := &items[i]
		it.Group.Count(c.MetricMethod(it.Req.Method), fleet.OutcomeOK)
		p.tenancy.account(ctx, id.ID, it.Req.Method, p.tenancy.Resolver.Cost(it.Req.Method))
	}
}

// merge puts the cached answers and the nodes' answers (ran, as
// BatchResult.AppendTo wrote them) back in client order, storing the
// nodes' answers the cache may keep.
func (h *batchHits) merge(ctx context.Context, dst, ran []byte) ([]byte, bool) {
	rs, err := jsonrpc.ScanResponseBatch(ran, nil)
	if err != nil && len(h.pending) > 0 {
		rs = nil
	}
	byClient := make([][]byte, len(h.answers))
	k := 0
	for j := range h.pending {
		it := &h.pending[j]
		if it.Req.IsNotification() {
			continue // no answer, whatever the node did
		}
		if k >= len(rs) {
			break
		}
		raw := rs[k].Raw
		k++
		byClient[h.index[j]] = raw
		if h.derived[j] && it.Outcome() == fleet.OutcomeOK {
			if t, r, ok := cache.NewTemplate(raw); ok {
				h.cc.Put(ctx, &h.lookups[j], it.Req.Method, t, &r)
			}
		}
	}
	dst = append(dst, '[')
	any := false
	for i := range byClient {
		a := h.answers[i]
		if a == nil {
			a = byClient[i]
		}
		if a == nil {
			continue
		}
		if any {
			dst = append(dst, ',')
		}
		dst = append(dst, a...)
		any = true
	}
	if k < len(rs) { // answers this walk could not place: never drop them
		for _, r := range rs[k:] {
			if any {
				dst = append(dst, ',')
			}
			dst = append(dst, r.Raw...)
			any = true
		}
	}
	return append(dst, ']'), any
}
