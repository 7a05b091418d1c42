package filters

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rpcgate/rpcgate/internal/chainfeed"
	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/pipeline"
)

// Manager serves the filter methods; it is the pipeline's Local stage.
type Manager struct {
	hub   *chainfeed.Hub
	exec  *execute.Executor
	store Store
	max   int
	now   func() time.Time

	mu      sync.Mutex
	local   map[string]localFilter // filters created or polled here
	pending map[string]*pendingBuf
	gauge   *prometheus.GaugeVec
}

type localFilter struct {
	owner, kind string
	seen        time.Time
}

var _ pipeline.Local = (*Manager)(nil)

// Options are what a Manager is built from.
type Options struct {
	Hub   *chainfeed.Hub
	Exec  *execute.Executor
	Store Store
	// MaxPerOwner is websocket.max_filters.
	MaxPerOwner int
	Registry    prometheus.Registerer
}

// New returns a manager and registers its gauge.
func New(o Options) *Manager {
	m := &Manager{hub: o.Hub, exec: o.Exec, store: o.Store, max: o.MaxPerOwner, now: time.Now,
		local: map[string]localFilter{}, pending: map[string]*pendingBuf{},
		gauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_filters",
			Help: "Gateway-held filters created or polled on this replica in the last five minutes, by type (logs, blocks, pending)."}, []string{"type"})}
	o.Registry.MustRegister(m.gauge)
	return m
}

// SetMax changes websocket.max_filters (reload).
func (m *Manager) SetMax(n int) {
	m.mu.Lock()
	m.max = n
	m.mu.Unlock()
}

var methods = map[string]bool{
	"eth_newFilter": true, "eth_newBlockFilter": true, "eth_newPendingTransactionFilter": true,
	"eth_getFilterChanges": true, "eth_getFilterLogs": true, "eth_uninstallFilter": true,
}

// Handles reports the filter methods.
func (m *Manager) Handles(method string) bool { return methods[method] }

// Errors as geth gives them.
var (
	errNotFound = &jsonrpc.Error{Code: -32000, Message: "filter not found"}
)

func invalidParams(msg string) *jsonrpc.Error {
	return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: msg}
}

func internal(err error) *jsonrpc.Error {
	if e, ok := err.(*jsonrpc.Error); ok {
		return e
	}
	if e, ok := err.(*execute.Error); ok {
		return &jsonrpc.Error{Code: e.Code, Message: e.Message}
	}
	return &jsonrpc.Error{Code: jsonrpc.CodeInternal, Message: "filter store unavailable"}
}

// Serve answers one filter call.
func (m *Manager) Serve(ctx context.Context, caller pipeline.Caller, req *jsonrpc.Request) ([]byte, *jsonrpc.Error) {
	var params []json.RawMessage
	if len(req.Params) > 0 && string(req.Params) != "null" {
		if err := json.Unmarshal(req.Params, &params); err != nil {
			return nil, invalidParams("params must be an array")
		}
	}
	chain := caller.Chain.Name
	feed := m.hub.Feed(chain)
	if feed == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternal, Message: "chain feed not running"}
	}
	switch req.Method {
	case "eth_newFilter":
		if len(params) != 1 {
			return nil, invalidParams("eth_newFilter takes one filter object")
		}
		if _, err := chainfeed.ParseCriteria(params[0]); err != nil {
			return nil, invalidParams(err.Error())
		}
		return m.create(ctx, caller, feed, KindLogs, params[0])
	case "eth_newBlockFilter":
		return m.create(ctx, caller, feed, KindBlocks, nil)
	case "eth_newPendingTransactionFilter":
		return m.create(ctx, caller, feed, KindPending, nil)
	}
	if len(params) != 1 {
		return nil, invalidParams(req.Method + " takes one filter id")
	}
	var id string
	if json.Unmarshal(params[0], &id) != nil {
		return nil, invalidParams("the filter id must be a string")
	}
	f, err := m.store.Get(ctx, id)
	if err != nil {
		return nil, internal(err)
	}
	if req.Method == "eth_uninstallFilter" {
		ok := false
		if f != nil && f.Chain == chain {
			if ok, err = m.store.Delete(ctx, id); err != nil {
				return nil, internal(err)
			}
		}
		m.forget(id)
		return strconv.AppendBool(nil, ok), nil
	}
	if f == nil || f.Chain != chain {
		m.forget(id)
		return nil, errNotFound
	}
	switch req.Method {
	case "eth_getFilterLogs":
		if f.Kind != KindLogs {
			return nil, errNotFound
		}
		m.touch(f)
		if err := m.store.Put(ctx, f); err != nil {
			return nil, internal(err)
		}
		body := append(append([]byte(`{"jsonrpc":"2.0","id":1,"method":"eth_getLogs","params":[`), f.Criteria...), "]}"...)
		res, err := chainfeed.Route(ctx, m.exec, caller.Chain, body)
		if err != nil {
			return nil, internal(err)
		}
		return res, nil
	default: // eth_getFilterChanges
		res, err := m.changes(ctx, caller, feed, f)
		if err != nil {
			return nil, internal(err)
		}
		m.touch(f)
		if err := m.store.Put(ctx, f); err != nil {
			return nil, internal(err)
		}
		return res, nil
	}
}

func (m *Manager) create(ctx context.Context, caller pipeline.Caller, feed *chainfeed.Feed, kind string, crit json.RawMessage) ([]byte, *jsonrpc.Error) {
	owner := caller.ID.LimitKey
	if n := m.owned(owner); n >= m.limit() {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeLimited, Message: "too many filters: at most " + strconv.Itoa(m.limit()) +
			" per caller (websocket.max_filters); uninstall some with eth_uninstallFilter"}
	}
	f := &Filter{ID: NewID(), Chain: caller.Chain.Name, Kind: kind, Owner: owner, Criteria: crit}
	if tip := feed.EnsureTip(ctx); tip != nil {
		f.Number, f.Hash = tip.Number, tip.Hash
	} else {
		f.Number = caller.Chain.BestHead()
	}
	if err := m.store.Put(ctx, f); err != nil {
		return nil, internal(err)
	}
	m.touch(f)
	if kind == KindPending {
		p := &pendingBuf{}
		p.cancel = feed.Listen(p)
		m.mu.Lock()
		m.pending[f.ID] = p
		m.mu.Unlock()
	}
	return strconv.AppendQuote(nil, f.ID), nil
}

// changes computes what a filter has not reported yet and moves its
// cursor to the feed's tip.
func (m *Manager) changes(ctx context.Context, caller pipeline.Caller, feed *chainfeed.Feed, f *Filter) ([]byte, error) {
	out := []byte{'['}
	add := func(raw []byte) {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, raw...)
	}
	switch f.Kind {
	case KindPending:
		m.mu.Lock()
		p := m.pending[f.ID]
		m.mu.Unlock()
		if p != nil {
			for _, tx := range p.take() {
				add(tx)
			}
		}
		return append(out, ']'), nil
	}
	tip := feed.Tip()
	if tip == nil || (tip.Number == f.Number && tip.Hash == f.Hash) || tip.Number < f.Number {
		return append(out, ']'), nil
	}
	removed, added, ok := feed.Since(f.Number, f.Hash)
	if !ok && f.Hash == "" {
		// Created before the feed had a head: the cursor is a number only.
		if blocks := feed.After(f.Number); len(blocks) > 0 && blocks[0].Number == f.Number+1 {
			added, ok = blocks, true
		}
	}
	if f.Kind == KindBlocks {
		if !ok {
			added = feed.After(f.Number)
		}
		for _, b := range added {
			add(strconv.AppendQuote(nil, b.Hash))
		}
		f.Number, f.Hash = tip.Number, tip.Hash
		return append(out, ']'), nil
	}
	crit, err := chainfeed.ParseCriteria(f.Criteria)
	if err != nil {
		return nil, err
	}
	if !ok {
		// The feed no longer (or not yet) holds the cursor: ask the nodes
		// for the range, through normal routing.
		q := map[string]any{"fromBlock": "0x" + strconv.FormatUint(f.Number+1, 16), "toBlock": "0x" + strconv.FormatUint(tip.Number, 16)}
		var raw map[string]json.RawMessage
		_ = json.Unmarshal(f.Criteria, &raw)
		if a, ok := raw["address"]; ok {
			q["address"] = a
		}
		if t, ok := raw["topics"]; ok {
			q["topics"] = t
		}
		qb, _ := json.Marshal(q)
		body := append(append([]byte(`{"jsonrpc":"2.0","id":1,"method":"eth_getLogs","params":[`), qb...), "]}"...)
		res, err := chainfeed.Route(ctx, m.exec, caller.Chain, body)
		if err != nil {
			return nil, err
		}
		f.Number, f.Hash = tip.Number, tip.Hash
		return res, nil
	}
	for _, b := range removed {
		for _, l := range b.Logs {
			if crit.Match(l) {
				add(l.Removed)
			}
		}
	}
	for _, b := range added {
		for _, l := range b.Logs {
			if crit.Match(l) {
				add(l.Raw)
			}
		}
		f.Number, f.Hash = b.Number, b.Hash
	}
	return append(out, ']'), nil
}

func (m *Manager) limit() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.max
}

// touch records a filter as live on this replica; expired ones are
// dropped (and their pending buffers released).
func (m *Manager) touch(f *Filter) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.local[f.ID] = localFilter{owner: f.Owner, kind: f.Kind, seen: now}
	m.sweepLocked(now)
}

func (m *Manager) forget(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropLocked(id)
	m.sweepLocked(m.now())
}

func (m *Manager) dropLocked(id string) {
	delete(m.local, id)
	if p := m.pending[id]; p != nil {
		p.cancel()
		delete(m.pending, id)
	}
}

func (m *Manager) sweepLocked(now time.Time) {
	counts := map[string]int{}
	for id, lf := range m.local {
		if now.Sub(lf.seen) > Expiry {
			m.dropLocked(id)
			continue
		}
		counts[lf.kind]++
	}
	for _, k := range []string{KindLogs, KindBlocks, KindPending} {
		m.gauge.WithLabelValues(k).Set(float64(counts[k]))
	}
}

// owned counts owner's live filters on this replica.
func (m *Manager) owned(owner string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	now, n := m.now(), 0
	m.sweepLocked(now)
	for _, lf := range m.local {
		if lf.owner == owner {
			n++
		}
	}
	return n
}

// Sweep drops expired local state; the gateway calls it periodically so
// pending buffers of abandoned filters are released.
func (m *Manager) Sweep() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(m.now())
}
