package pipeline

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/ratelimit"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/route"
	"github.com/rpcgate/rpcgate/internal/telemetry"
	"github.com/rpcgate/rpcgate/internal/tenant"
)

// FuzzRelay sends whatever decodes as JSON-RPC through a pipeline whose
// nodes are never admitted (every call that passes the policy ends in the
// gateway's own error): nothing panics, every answer is valid JSON with
// an HTTP status the gateway uses, and nothing reached a node.
func FuzzRelay(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`,
		`{"jsonrpc":"2.0","method":"eth_chainId"}`,
		`{"jsonrpc":"2.0","id":"x","method":"admin_peers"}`,
		`[{"jsonrpc":"2.0","id":1,"method":"eth_getLogs","params":[{}]},5,{"jsonrpc":"2.0","method":"admin_x"}]`,
		`[{"jsonrpc":"2.0","method":"eth_chainId"}]`,
		`{"jsonrpc":"1.0","id":[],"method":""}`,
	} {
		f.Add([]byte(s))
	}
	cfg, err := config.Parse("fuzz.yaml", []byte(`
chains:
  eth:
    chain_id: 1337
    methods: {deny: ["admin_*"]}
    nodes: {a: {url: "http://127.0.0.1:1"}, b: {url: "http://127.0.0.1:1"}}
    groups:
      default: {nodes: [a]}
      logs: {methods: [eth_getLogs], nodes: [b], fallback: default}
`), nil)
	if err != nil {
		f.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	m := telemetry.NewMetrics("fuzz")
	c, err := fleet.NewChain("eth", fleet.SpecOf(cfg.Chains["eth"], cfg.Limits), log, m)
	if err != nil {
		f.Fatal(err)
	}
	res, err := tenant.NewResolver(cfg, tenant.NewMemoryKeys())
	if err != nil {
		f.Fatal(err)
	}
	p := New(Options{
		Chains: route.NewChains(map[string]*fleet.Chain{"eth": c}, nil, []string{"eth"}),
		Exec:   execute.New(log),
		Tenancy: &Tenancy{Resolver: res, Limiter: ratelimit.NewLocal(time.Now), Quotas: ratelimit.NewLocalQuotas(),
			Usage: tenant.NewMemoryUsage(), Metrics: NewTenancyMetrics(m.Registry), Now: time.Now},
		Metrics: m,
	})
	caller, _, ok := p.Open(Target{Path: "/eth", Creds: noCreds{}}, relay.Get())
	if !ok {
		f.Fatal("open")
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		reqs, batch, derr := jsonrpc.DecodeInto(nil, body, 100)
		if derr != nil {
			return // the adapter answers decode errors itself
		}
		rec := relay.Get()
		defer relay.Put(rec)
		out := p.Relay(context.Background(), Input{Caller: caller, Reqs: reqs, Batch: batch, Body: body}, rec)
		defer out.Release()
		switch out.Status {
		case 200, 204, 400, 503:
		default:
			t.Fatalf("HTTP %d for %q", out.Status, body)
		}
		if (out.Status == 204) != (out.Body == nil) {
			t.Fatalf("HTTP %d with body %q", out.Status, out.Body)
		}
		if out.Body != nil && !json.Valid(out.Body) {
			t.Fatalf("answer %q to %q is not JSON", out.Body, body)
		}
		if len(rec.Attempts()) != 0 || rec.Status != out.Status {
			t.Fatalf("record: %d attempts, status %d; answer %d", len(rec.Attempts()), rec.Status, out.Status)
		}
	})
}
