package frontend

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/evm"
	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/pipeline"
	"github.com/rpcgate/rpcgate/internal/ratelimit"
	"github.com/rpcgate/rpcgate/internal/route"
	"github.com/rpcgate/rpcgate/internal/telemetry"
	"github.com/rpcgate/rpcgate/internal/tenant"
)

// benchServer builds a server whose nodes are never contacted: the
// benchmarks measure decode, route and encode without the upstream.
func benchServer(tb testing.TB) (*Server, *fleet.Chain) {
	return logServer(tb, slog.New(slog.DiscardHandler))
}

// bodyLimitServer is benchServer with limits.max_body_bytes set to n.
func bodyLimitServer(tb testing.TB, n int64) *Server {
	s, _ := benchServer(tb)
	l := *s.limits.Load()
	l.MaxBodyBytes = n
	s.SetLimits(l)
	return s
}

// logServer is benchServer logging to log.
func logServer(tb testing.TB, log *slog.Logger) (*Server, *fleet.Chain) {
	cfg, err := config.Parse("bench.yaml", []byte(`
chains:
  eth:
    chain_id: 1337
    methods: {deny: ["admin_*"]}
    nodes: {a: {url: "http://127.0.0.1:1"}, b: {url: "http://127.0.0.1:1"}}
    groups:
      default: {nodes: [a]}
      logs: {methods: [eth_getLogs, "debug_*"], nodes: [b], fallback: default}
`), nil)
	if err != nil {
		tb.Fatal(err)
	}
	m := telemetry.NewMetrics("bench")
	c, err := fleet.NewChain("eth", fleet.SpecOf(cfg.Chains["eth"], cfg.Limits), log, m)
	if err != nil {
		tb.Fatal(err)
	}
	chains := route.NewChains(map[string]*fleet.Chain{"eth": c}, nil, []string{"eth"})
	res, err := tenant.NewResolver(cfg, tenant.NewMemoryKeys())
	if err != nil {
		tb.Fatal(err)
	}
	s := New(Options{Chains: chains, Exec: execute.New(log), Limits: cfg.Limits, Log: log, Metrics: m,
		Tenancy: &pipeline.Tenancy{Resolver: res, Limiter: ratelimit.NewLocal(time.Now), Quotas: ratelimit.NewLocalQuotas(),
			Usage: tenant.NewMemoryUsage(), Metrics: pipeline.NewTenancyMetrics(m.Registry), Now: time.Now}})
	return s, c
}

// BenchmarkHandlerDenied runs a whole request through the handler (body
// read, decode, chain and group resolution, policy, error encoding).
func BenchmarkHandlerDenied(b *testing.B) {
	s, _ := benchServer(b)
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"admin_nodeInfo","params":[]}`)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/eth", bytes.NewReader(body))
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkRouteSingle is the per-call routing work: decode, chain, group,
// block requirement and write check.
func BenchmarkRouteSingle(b *testing.B) {
	s, c := benchServer(b)
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x10",false]}`)
	reqs := make([]jsonrpc.Request, 0, 4)
	b.ReportAllocs()
	for b.Loop() {
		ch, _, ok := s.pipe.Chains().Resolve("x", "/eth")
		rs, _, err := jsonrpc.DecodeInto(reqs[:0], body, 1000)
		if !ok || err != nil {
			b.Fatal(ok, err)
		}
		if g := ch.Group(rs[0].Method); g == nil || !ch.Allowed(rs[0].Method) || c.IsWrite(rs[0].Method) {
			b.Fatal("route")
		}
		if evm.Block(rs[0].Method, rs[0].Params).Kind != evm.BlockNumber {
			b.Fatal("block")
		}
	}
}

// BenchmarkEncodeBatchAnswer splices 100 node answers back under client ids.
func BenchmarkEncodeBatchAnswer(b *testing.B) {
	raw := []byte(`{"jsonrpc":"2.0","id":17,"result":"0x1234"}`)
	r, err := jsonrpc.ScanResponse(raw)
	if err != nil {
		b.Fatal(err)
	}
	id := []byte(`"client-id"`)
	out := make([]byte, 0, 8<<10)
	b.ReportAllocs()
	for b.Loop() {
		out = append(out[:0], '[')
		for i := 0; i < 100; i++ {
			if i > 0 {
				out = append(out, ',')
			}
			out = jsonrpc.SpliceID(r.Raw, r.IDStart, r.IDEnd, id, out)
		}
		out = append(out, ']')
	}
}

// proxyServer is a server for one chain whose single node is a loopback
// JSON-RPC server answering every call with result "0x10" (and the node
// checker's eth_chainId with the chain id). It returns once the node is
// admitted.
func proxyServer(tb testing.TB) *Server {
	return loopbackServer(tb, slog.New(slog.DiscardHandler), nil, "a")
}

// loopbackServer is proxyServer with a node per name, logging to log. A
// client call (not a probe) is answered with HTTP 502 when fail, given how
// many client calls the fleet has had (from 1), says so.
func loopbackServer(tb testing.TB, log *slog.Logger, fail func(n int64) bool, names ...string) *Server {
	var calls atomic.Int64
	var nodes strings.Builder
	for i, name := range names {
		node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			rs, _, err := jsonrpc.DecodeInto(nil, body, 1000)
			if err != nil || len(rs) != 1 {
				http.Error(w, "want one call", http.StatusBadRequest)
				return
			}
			result := `"0x10"`
			switch rs[0].Method {
			case "eth_chainId":
				result = `"0x539"`
			case "eth_blockNumber":
			default:
				if fail != nil && fail(calls.Add(1)) {
					w.WriteHeader(http.StatusBadGateway)
					return
				}
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(jsonrpc.AppendResult(nil, rs[0].ID, []byte(result)))
		}))
		tb.Cleanup(node.Close)
		if i > 0 {
			nodes.WriteString(", ")
		}
		nodes.WriteString(name + `: {url: "` + node.URL + `"}`)
	}
	cfg, err := config.Parse("proxy.yaml", []byte(`
chains:
  eth:
    chain_id: 1337
    nodes: {`+nodes.String()+`}
    groups: {default: {nodes: [`+strings.Join(names, ", ")+`]}}
`), nil)
	if err != nil {
		tb.Fatal(err)
	}
	m := telemetry.NewMetrics("bench")
	// The node checkers log elsewhere: log sees the requests only.
	c, err := fleet.NewChain("eth", fleet.SpecOf(cfg.Chains["eth"], cfg.Limits), slog.New(slog.DiscardHandler), m)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	c.Start(ctx)
	tb.Cleanup(func() { cancel(); c.Stop() })
	for _, name := range names { // wait for the admission events
		for !c.Selectable(c.Node(name)) {
			if ctx.Err() != nil {
				tb.Fatalf("node %s was never admitted", name)
			}
			time.Sleep(time.Millisecond)
		}
	}
	chains := route.NewChains(map[string]*fleet.Chain{"eth": c}, nil, []string{"eth"})
	res, err := tenant.NewResolver(cfg, tenant.NewMemoryKeys())
	if err != nil {
		tb.Fatal(err)
	}
	s := New(Options{Chains: chains, Exec: execute.New(log), Limits: cfg.Limits, Log: log, Metrics: m,
		Tenancy: &pipeline.Tenancy{Resolver: res, Limiter: ratelimit.NewLocal(time.Now), Quotas: ratelimit.NewLocalQuotas(),
			Usage: tenant.NewMemoryUsage(), Metrics: pipeline.NewTenancyMetrics(m.Registry), Now: time.Now}})
	return s
}

// BenchmarkHandlerProxied runs a whole proxied call: the handler, the
// executor and one exchange with a loopback node (whose own cost is
// included: compare allocs/op rather than ns/op across changes).
func BenchmarkHandlerProxied(b *testing.B) {
	s := proxyServer(b)
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x0000000000000000000000000000000000000000","latest"]}`)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/eth", bytes.NewReader(body))
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
