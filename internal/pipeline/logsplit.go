package pipeline

// eth_getLogs range splitting: a numeric range wider than the group's
// max_logs_range becomes chunks run concurrently (the balancer spreads them
// over the group's nodes) within the call's deadline, merged in order. Any
// chunk's error is the call's error: a partial answer is never sent as a
// whole one. Finalized chunks are cached like any call.

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rpcgate/rpcgate/internal/cache"
	"github.com/rpcgate/rpcgate/internal/evm"
	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/schedule"
)

var (
	errChunkDeadline = &execute.Error{Code: jsonrpc.CodeTimeout, HTTPStatus: http.StatusGatewayTimeout,
		Message: "request deadline exceeded before every eth_getLogs chunk was answered"}
	errChunkAnswer = &execute.Error{Code: jsonrpc.CodeUpstream, HTTPStatus: http.StatusBadGateway,
		Message: "a node answered an eth_getLogs chunk with something other than a log list"}
)

// maxChunksInFlight bounds how many chunks of one call run at once, and
// maxChunks how many one call may have at all.
const (
	maxChunksInFlight = 8
	maxChunks         = 1000
)

// logsRange reads a filter's numeric range. ok is false for anything else
// (tags, blockHash, malformed params, a reversed range).
func logsRange(params []byte) (filter map[string]json.RawMessage, from, to uint64, ok bool) {
	f, ok := jsonrpc.ArrayElem(params, 0)
	if !ok || f[0] != '{' {
		return nil, 0, 0, false
	}
	if err := json.Unmarshal(f, &filter); err != nil || filter["blockHash"] != nil {
		return nil, 0, 0, false
	}
	num := func(v json.RawMessage) (uint64, bool) {
		if string(v) == `"earliest"` {
			return 0, true
		}
		return evm.ParseQuantity(v)
	}
	from, okf := num(filter["fromBlock"])
	to, okt := num(filter["toBlock"])
	if !okf || !okt || from > to {
		return nil, 0, 0, false
	}
	if n, _ := jsonrpc.ArrayElem(params, 1); n != nil { // more params than the filter: not ours to rewrite
		return nil, 0, 0, false
	}
	return filter, from, to, true
}

// chunkResult is one chunk's answer.
type chunkResult struct {
	body   []byte // the node's answer (copied)
	result []byte // its result array, inside body
	err    *execute.Error
	rpc    bool // body is the node's JSON-RPC error
}

// splitLogs answers an eth_getLogs whose range is wider than the group's
// max_logs_range by running chunks concurrently; ok is false when the call
// is not split.
func (p *Pipeline) splitLogs(ctx context.Context, cc *cache.Chain, c *fleet.Chain, g *fleet.Group, class schedule.Class, req *jsonrpc.Request, rec *relay.Record) (execute.Answer, bool) {
	limit := cc.MaxLogsRange(g.Name)
	if req.Method != "eth_getLogs" || limit == 0 {
		return execute.Answer{}, false
	}
	filter, from, to, ok := logsRange(req.Params)
	if !ok || to-from+1 <= limit || (to-from)/limit+1 > maxChunks {
		return execute.Answer{}, false
	}
	ctx, cancel := context.WithDeadline(ctx, time.Now().Add(c.TimeoutFor(req.Method)))
	defer cancel()
	n := int((to-from)/limit + 1)
	results := make([]chunkResult, n)
	sem := make(chan struct{}, maxChunksInFlight)
	var wg sync.WaitGroup
	var failOnce sync.Once
	failed := -1 // the chunk whose failure stopped the others
	for i := range n {
		lo := from + uint64(i)*limit
		hi := min(lo+limit-1, to)
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				results[i] = chunkResult{err: errChunkDeadline}
				return
			}
			results[i] = p.chunk(ctx, cc, c, g, class, filter, lo, hi)
			if results[i].err != nil || results[i].rpc {
				failOnce.Do(func() { failed = i; cancel() }) // the call fails: stop the rest
			}
		}()
	}
	wg.Wait()
	cc.CountChunks(n)
	// The failure that stopped the others is the call's answer; a chunk
	// that ran out of time without stopping anything fails it too.
	order := results
	if failed >= 0 {
		order = results[failed : failed+1]
	}
	for _, r := range order {
		if r.rpc {
			t, _, ok := cache.NewTemplate(r.body)
			if ok {
				return execute.Answer{Body: t.Append(nil, idOrNull(req.ID)), Outcome: relay.OutcomeRPCError}, true
			}
		}
		if r.err != nil {
			return execute.Answer{Err: r.err, Outcome: relay.OutcomeFailed}, true
		}
	}
	merged := []byte{'['}
	for _, r := range results {
		inner := r.result[1 : len(r.result)-1]
		if len(trimSpace(inner)) == 0 {
			continue
		}
		if len(merged) > 1 {
			merged = append(merged, ',')
		}
		merged = append(merged, inner...)
	}
	merged = append(merged, ']')
	// The first chunk's envelope, with the merged result and the client's id.
	first := results[0]
	at := cap(first.body) - cap(first.result)
	body := make([]byte, 0, len(first.body)+len(merged))
	body = append(body, first.body[:at]...)
	body = append(body, merged...)
	body = append(body, first.body[at+len(first.result):]...)
	if t, _, ok := cache.NewTemplate(body); ok {
		body = t.Append(nil, idOrNull(req.ID))
	}
	return execute.Answer{Body: body, Outcome: relay.OutcomeOK}, true
}

// chunk runs one chunk, from the cache when it can.
func (p *Pipeline) chunk(ctx context.Context, cc *cache.Chain, c *fleet.Chain, g *fleet.Group, class schedule.Class, filter map[string]json.RawMessage, lo, hi uint64) chunkResult {
	f := make(map[string]json.RawMessage, len(filter))
	for k, v := range filter {
		f[k] = v
	}
	f["fromBlock"] = json.RawMessage(strconv.Quote("0x" + strconv.FormatUint(lo, 16)))
	f["toBlock"] = json.RawMessage(strconv.Quote("0x" + strconv.FormatUint(hi, 16)))
	fb, _ := json.Marshal(f)
	params := append(append([]byte{'['}, fb...), ']')
	body := append(append([]byte(`{"jsonrpc":"2.0","id":1,"method":"eth_getLogs","params":`), params...), '}')
	l, cacheable := cache.Derive(c.Name, "eth_getLogs", params)
	if cacheable {
		if t, hit := cc.Get(ctx, &l, "eth_getLogs"); hit {
			return chunkOf(t.Append(nil, []byte("1")))
		}
	}
	req := jsonrpc.Request{Raw: body, ID: []byte("1"), Method: "eth_getLogs", Params: params}
	ans := p.exec.Single(ctx, c, g, class, &req, body, nil)
	defer ans.Release()
	if ans.Err != nil {
		return chunkResult{err: ans.Err}
	}
	r := chunkOf(append([]byte(nil), ans.Body...))
	if r.err == nil && !r.rpc && cacheable {
		if t, sr, ok := cache.NewTemplate(r.body); ok {
			cc.Put(ctx, &l, "eth_getLogs", t, &sr)
		}
	}
	return r
}

// chunkOf reads a chunk's answer.
func chunkOf(body []byte) chunkResult {
	r, err := jsonrpc.ScanResponse(body)
	switch {
	case err != nil:
		return chunkResult{err: errChunkAnswer}
	case r.Err != nil:
		return chunkResult{body: body, rpc: true}
	case len(r.Result) < 2 || r.Result[0] != '[':
		return chunkResult{err: errChunkAnswer}
	}
	return chunkResult{body: body, result: r.Result}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}
