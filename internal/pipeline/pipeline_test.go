package pipeline

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

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

// answerFunc answers one client call (not a probe) sent to a loopback
// node: n counts the client calls the whole fleet has had, from 1. It
// returns the JSON to send, or "" to fail the exchange (see fail).
type answerFunc func(w http.ResponseWriter, call jsonrpc.Request, body []byte, n int64) string

// fleetOf starts one loopback JSON-RPC node per name, all answering
// client calls with answer and the node checker's probes (eth_chainId,
// eth_blockNumber) normally, and returns a pipeline over them once every
// node is admitted.
func fleetOf(t *testing.T, answer answerFunc, names ...string) (*Pipeline, Caller, *telemetry.Metrics) {
	t.Helper()
	var calls atomic.Int64
	var nodes strings.Builder
	for i, name := range names {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			rs, batch, err := jsonrpc.DecodeInto(nil, body, 1000)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			if !batch {
				switch rs[0].Method {
				case "eth_chainId":
					w.Write(jsonrpc.AppendResult(nil, rs[0].ID, []byte(`"0x539"`)))
					return
				case "eth_blockNumber":
					w.Write(jsonrpc.AppendResult(nil, rs[0].ID, []byte(`"0x10"`)))
					return
				}
			}
			out := answer(w, rs[0], body, calls.Add(1))
			if out != "" {
				io.WriteString(w, out)
			}
		}))
		t.Cleanup(srv.Close)
		if i > 0 {
			nodes.WriteString(", ")
		}
		nodes.WriteString(name + `: {url: "` + srv.URL + `"}`)
	}
	cfg, err := config.Parse("pipeline.yaml", []byte(`
chains:
  eth:
    chain_id: 1337
    nodes: {`+nodes.String()+`}
    groups: {default: {nodes: [`+strings.Join(names, ", ")+`]}}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	m := telemetry.NewMetrics("test")
	c, err := fleet.NewChain("eth", fleet.SpecOf(cfg.Chains["eth"], cfg.Limits), log, m)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	c.Start(ctx)
	t.Cleanup(func() { cancel(); c.Stop() })
	for _, name := range names { // wait for the admission events
		for !c.Selectable(c.Node(name)) {
			if ctx.Err() != nil {
				t.Fatalf("node %s was never admitted", name)
			}
			time.Sleep(time.Millisecond)
		}
	}
	res, err := tenant.NewResolver(cfg, tenant.NewMemoryKeys())
	if err != nil {
		t.Fatal(err)
	}
	p := New(Options{
		Chains: route.NewChains(map[string]*fleet.Chain{"eth": c}, nil, []string{"eth"}),
		Exec:   execute.New(log),
		Tenancy: &Tenancy{Resolver: res, Limiter: ratelimit.NewLocal(time.Now), Quotas: ratelimit.NewLocalQuotas(),
			Usage: tenant.NewMemoryUsage(), Metrics: NewTenancyMetrics(m.Registry), Now: time.Now},
		Metrics: m,
	})
	caller, out, ok := p.Open(Target{Path: "/eth", Creds: noCreds{}}, relay.Get())
	if !ok {
		t.Fatalf("open: %d %s", out.Status, out.Body)
	}
	return p, caller, m
}

// noCreds is an anonymous caller without headers.
type noCreds struct{}

func (noCreds) Peer() netip.Addr             { return netip.Addr{} }
func (noCreds) Header(string) string         { return "" }
func (noCreds) HeaderValues(string) []string { return nil }
func (noCreds) Query(string) string          { return "" }

// relayCall decodes body and runs it through p, with no HTTP in between.
func relayCall(t *testing.T, p *Pipeline, caller Caller, body string) (Output, *relay.Record) {
	t.Helper()
	reqs, batch, derr := jsonrpc.DecodeInto(nil, []byte(body), 1000)
	if derr != nil {
		t.Fatal(derr)
	}
	rec := relay.Get()
	out := p.Relay(context.Background(), Input{Caller: caller, Reqs: reqs, Batch: batch, Body: []byte(body)}, rec)
	t.Cleanup(func() { out.Release(); relay.Put(rec) })
	return out, rec
}

const getBalance = `{"jsonrpc":"2.0","id":7,"method":"eth_getBalance","params":["0x0000000000000000000000000000000000000000","latest"]}`

// A call the first node fails and the second answers comes out as the
// second node's answer, with a record of both attempts: which node, how
// long, how it ended.
func TestRelayRecordsEveryAttempt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		fail    func(w http.ResponseWriter)
		outcome relay.Outcome
		kind    string
	}{
		{"HTTP 502", func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) }, relay.OutcomeTransport, "HTTP 502"},
		{"connection closed", func(w http.ResponseWriter) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}, relay.OutcomeTransport, "connection lost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, caller, _ := fleetOf(t, func(w http.ResponseWriter, call jsonrpc.Request, _ []byte, n int64) string {
				if n == 1 {
					tc.fail(w)
					return ""
				}
				return string(jsonrpc.AppendResult(nil, call.ID, []byte(`"0x2a"`)))
			}, "a", "b")
			out, rec := relayCall(t, p, caller, getBalance)
			if out.Status != 200 || string(out.Body) != `{"jsonrpc":"2.0","id":7,"result":"0x2a"}` {
				t.Fatalf("answer %d %s", out.Status, out.Body)
			}
			at := rec.Attempts()
			if len(at) != 2 {
				t.Fatalf("%d attempts recorded, want 2: %+v", len(at), at)
			}
			if at[0].Node == at[1].Node || at[0].Node == "" || at[1].Node == "" {
				t.Errorf("attempts on nodes %q and %q, want the two nodes", at[0].Node, at[1].Node)
			}
			if at[0].Outcome != tc.outcome || at[0].ErrKind != tc.kind {
				t.Errorf("first attempt %s (%q), want %s (%q)", at[0].Outcome, at[0].ErrKind, tc.outcome, tc.kind)
			}
			if at[1].Outcome != relay.OutcomeOK || at[1].Bytes != len(out.Body) {
				t.Errorf("second attempt %s with %d bytes, want ok with %d", at[1].Outcome, at[1].Bytes, len(out.Body))
			}
			for i, a := range at {
				if a.Latency <= 0 || a.Start.IsZero() {
					t.Errorf("attempt %d: start %v latency %v", i, a.Start, a.Latency)
				}
			}
			if at[1].Start.Before(at[0].Start) {
				t.Error("attempts out of order")
			}
			if rec.Answered() != at[1].Node || rec.Outcome != relay.OutcomeOK || rec.Chain != "eth" || rec.Group != "default" ||
				rec.Method != "eth_getBalance" || rec.Status != 200 || rec.Bytes != len(out.Body) || rec.ParamsHash == 0 {
				t.Errorf("record %+v", rec)
			}
		})
	}
}

// Regression for "JSON-RPC error answers are counted as ok": a node's
// error object (here a revert) is the call's answer, passed through
// untouched, and counted as outcome rpc_error with its class, for a single
// call and for a batch element alike.
func TestRPCErrorIsItsOwnOutcome(t *testing.T) {
	t.Parallel()
	const revert = `{"code":3,"message":"execution reverted","data":"0x08c379a0"}`
	p, caller, m := fleetOf(t, func(w http.ResponseWriter, call jsonrpc.Request, body []byte, _ int64) string {
		if body[0] == '[' { // a batch part: eth_call reverts, the rest answer
			rs, _, _ := jsonrpc.DecodeInto(nil, body, 1000)
			out := []byte{'['}
			for i, r := range rs {
				if i > 0 {
					out = append(out, ',')
				}
				if r.Method == "eth_call" {
					out = jsonrpc.AppendError(out, r.ID, 3, "execution reverted", []byte(`"0x08c379a0"`))
				} else {
					out = jsonrpc.AppendResult(out, r.ID, []byte(`"0x1"`))
				}
			}
			return string(append(out, ']'))
		}
		return `{"jsonrpc":"2.0","id":` + string(call.ID) + `,"error":` + revert + `}`
	}, "a")
	out, rec := relayCall(t, p, caller, `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"to":"0x0000000000000000000000000000000000000001"},"latest"]}`)
	if out.Status != 200 || string(out.Body) != `{"jsonrpc":"2.0","id":1,"error":`+revert+`}` {
		t.Fatalf("answer %d %s", out.Status, out.Body)
	}
	if rec.Outcome != relay.OutcomeRPCError || rec.Code != 3 {
		t.Errorf("record outcome %s code %d, want rpc_error 3", rec.Outcome, rec.Code)
	}
	if at := rec.Attempts(); len(at) != 1 || at[0].Outcome != relay.OutcomeRPCError || at[0].Code != 3 {
		t.Errorf("attempts %+v, want one rpc_error with code 3", at)
	}
	relayCall(t, p, caller, `[{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[]},{"jsonrpc":"2.0","id":2,"method":"eth_chainId"}]`)

	requests := func(method, outcome string) float64 {
		return counterValue(t, m.Requests.WithLabelValues("eth", "default", method, outcome))
	}
	if got := requests("eth_call", "rpc_error"); got != 2 {
		t.Errorf(`rpcgate_requests_total{method="eth_call",outcome="rpc_error"} = %v, want 2`, got)
	}
	if got := requests("eth_call", "ok"); got != 0 {
		t.Errorf(`rpcgate_requests_total{method="eth_call",outcome="ok"} = %v, want 0`, got)
	}
	if got := requests("eth_chainId", "ok"); got != 1 {
		t.Errorf(`rpcgate_requests_total{method="eth_chainId",outcome="ok"} = %v, want 1`, got)
	}
	if got := counterValue(t, p.rpcErrors.WithLabelValues("eth", "default", "eth_call", "execution")); got != 2 {
		t.Errorf(`rpcgate_rpc_errors_total{class="execution"} = %v, want 2`, got)
	}
}

// No node at all: the gateway's own error, recorded as failed, with no
// attempt.
func TestRelayNoNode(t *testing.T) {
	t.Parallel()
	p, caller, _ := fleetOf(t, func(http.ResponseWriter, jsonrpc.Request, []byte, int64) string { return "" }, "a")
	caller.Chain.Node("a").SetDraining(true)
	out, rec := relayCall(t, p, caller, getBalance)
	if out.Status != 503 || out.RetryAfter != 1 || rec.Outcome != relay.OutcomeFailed || rec.Code != jsonrpc.CodeNoNode || len(rec.Attempts()) != 0 {
		t.Errorf("answer %d retry-after %d %s; record %s code %d, %d attempts", out.Status, out.RetryAfter, out.Body, rec.Outcome, rec.Code, len(rec.Attempts()))
	}
}

// counterValue reads a counter.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
