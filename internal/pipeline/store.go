package pipeline

// The store stage, before the cache and the nodes: a settled read the
// chain store holds is answered from it, byte for byte as the node
// answered (docs/followers.md). Anything else — data not stored, a store
// that is down or slower than its timeout — falls through to the nodes,
// counted; a store failure never fails a call.

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/schedule"
	"github.com/rpcgate/rpcgate/internal/store"
)

// Value of relay.Record.Cache for an answer from the store.
const cacheStore = "store"

// fromStore answers req from the chain's store; ok is false when the call
// must go to nodes.
func (p *Pipeline) fromStore(ctx context.Context, c *fleet.Chain, g *fleet.Group, class schedule.Class, req *jsonrpc.Request, rec *relay.Record) (execute.Answer, bool) {
	sc := p.stores.For(c.Name)
	if sc == nil || sc.Reader == nil || req.IsNotification() || !store.Methods[req.Method] {
		return execute.Answer{}, false
	}
	sctx, cancel := context.WithTimeout(ctx, sc.Timeout)
	defer cancel()
	body, err := storeLookup(sctx, sc, req)
	if errors.Is(err, store.ErrMissing) && req.Method == "eth_getLogs" {
		if ans, ok := p.logsPastTop(ctx, sctx, sc, c, g, class, req, rec); ok {
			return ans, true
		}
	}
	if !storeCount(sc, c, req.Method, err) {
		return execute.Answer{}, false
	}
	rec.Cache = cacheStore
	return execute.Answer{Body: body, Outcome: relay.OutcomeOK, Node: "store"}, true
}

// storeAnswer is fromStore for one batch element (no partial ranges).
func (p *Pipeline) storeAnswer(ctx context.Context, c *fleet.Chain, req *jsonrpc.Request) ([]byte, bool) {
	sc := p.stores.For(c.Name)
	if sc == nil || sc.Reader == nil || !req.IsCall() || !store.Methods[req.Method] {
		return nil, false
	}
	sctx, cancel := context.WithTimeout(ctx, sc.Timeout)
	defer cancel()
	body, err := storeLookup(sctx, sc, req)
	return body, storeCount(sc, c, req.Method, err)
}

func storeLookup(ctx context.Context, sc *store.Chain, req *jsonrpc.Request) ([]byte, error) {
	res, err := sc.Reader.Result(ctx, req.Method, req.Params)
	if err != nil {
		return nil, err
	}
	return sc.Reader.Wrap(ctx, idOrNull(req.ID), res)
}

// storeCount counts a lookup as served or fallen through; true: served.
func storeCount(sc *store.Chain, c *fleet.Chain, method string, err error) bool {
	if err != nil {
		sc.M.FellThrough.WithLabelValues(c.Name, method, store.Reason(err)).Inc()
		return false
	}
	sc.M.Served.WithLabelValues(c.Name, method).Inc()
	return true
}

// logsPastTop serves an eth_getLogs whose range starts in the store and
// ends above its highest block: the store's part, then the nodes' part,
// merged in block order.
func (p *Pipeline) logsPastTop(ctx, sctx context.Context, sc *store.Chain, c *fleet.Chain, g *fleet.Group, class schedule.Class, req *jsonrpc.Request, rec *relay.Record) (execute.Answer, bool) {
	filter, from, to, ok := logsRange(req.Params)
	if !ok {
		return execute.Answer{}, false
	}
	top, has, err := sc.Reader.Store.Top(sctx)
	if err != nil || !has || from > top || to <= top {
		return execute.Answer{}, false
	}
	f, err := store.ParseFilter(req.Params)
	if err != nil {
		return execute.Answer{}, false
	}
	f.To = top
	if ok, err := sc.Reader.Store.Covers(sctx, f.From, f.To); err != nil || !ok {
		return execute.Answer{}, false
	}
	low, err := sc.Reader.Store.Logs(sctx, f)
	if err != nil {
		return execute.Answer{}, false
	}
	filter["fromBlock"] = json.RawMessage(strconv.Quote("0x" + strconv.FormatUint(top+1, 16)))
	fb, _ := json.Marshal(filter)
	params := append(append([]byte{'['}, fb...), ']')
	body := append(append([]byte(`{"jsonrpc":"2.0","id":1,"method":"eth_getLogs","params":`), params...), '}')
	nreq := jsonrpc.Request{Raw: body, ID: []byte("1"), Method: "eth_getLogs", Params: params}
	ans := p.exec.Single(ctx, c, g, class, &nreq, body, rec)
	if ans.Err != nil {
		return ans, true // the node's failure is the call's: the store had only part
	}
	defer ans.Release()
	r, err := jsonrpc.ScanResponse(ans.Body)
	if err != nil || r.Err != nil || len(r.Result) < 2 || r.Result[0] != '[' {
		// The node's error for the rest of the range is the answer.
		return execute.Answer{Body: append([]byte(nil), ans.Body...), Outcome: ans.Outcome, Node: ans.Node}, true
	}
	merged := mergeArrays(low, r.Result)
	out, err := sc.Reader.Wrap(sctx, idOrNull(req.ID), merged)
	if err != nil {
		return execute.Answer{}, false
	}
	sc.M.Served.WithLabelValues(c.Name, "eth_getLogs").Inc()
	rec.Cache = cacheStore
	return execute.Answer{Body: out, Outcome: relay.OutcomeOK, Node: ans.Node}, true
}

// mergeArrays joins two JSON arrays' elements (a before b).
func mergeArrays(a, b []byte) []byte {
	ai, bi := trimArray(a), trimArray(b)
	out := make([]byte, 0, len(ai)+len(bi)+3)
	out = append(out, '[')
	out = append(out, ai...)
	if len(ai) > 0 && len(bi) > 0 {
		out = append(out, ',')
	}
	out = append(out, bi...)
	return append(out, ']')
}

func trimArray(a []byte) []byte {
	a = trimSpace(a)
	for len(a) > 0 && (a[len(a)-1] == ' ' || a[len(a)-1] == '\n' || a[len(a)-1] == '\r' || a[len(a)-1] == '\t') {
		a = a[:len(a)-1]
	}
	if len(a) < 2 {
		return nil
	}
	return trimSpace(a[1 : len(a)-1])
}
