package execute

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/telemetry"
)

// testNode is a loopback JSON-RPC server standing in for a node where the
// engine's reaction to one exact node behaviour is under test (e2e tests
// run the same paths against real anvil). It answers the checker's probes
// like a node at block 1 of chain 1337; every other request goes to
// handle, or gets the result "0x1" with the request's id.
type testNode struct {
	srv *httptest.Server

	mu       sync.Mutex
	handle   func(w http.ResponseWriter, body []byte) bool // true: handled
	requests int                                           // non-probe requests received
	bodies   []string
}

func startNode(t *testing.T) *testNode {
	t.Helper()
	tn := &testNode{}
	tn.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var probe struct {
			Method string `json:"method"`
		}
		if json.Unmarshal(body, &probe) == nil && (probe.Method == "eth_chainId" || probe.Method == "eth_blockNumber") && strings.Contains(string(body), `"id":1,`) {
			res := "0x539"
			if probe.Method == "eth_blockNumber" {
				res = "0x1"
			}
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":1,"result":%q}`, res)
			return
		}
		tn.mu.Lock()
		tn.requests++
		tn.bodies = append(tn.bodies, string(body))
		h := tn.handle
		tn.mu.Unlock()
		if h != nil && h(w, body) {
			return
		}
		var c struct {
			ID json.RawMessage `json:"id"`
		}
		_ = json.Unmarshal(body, &c)
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":"0x1"}`, c.ID)
	}))
	t.Cleanup(tn.srv.Close)
	return tn
}

func (tn *testNode) set(h func(w http.ResponseWriter, body []byte) bool) {
	tn.mu.Lock()
	tn.handle = h
	tn.mu.Unlock()
}

func (tn *testNode) count() int {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	return tn.requests
}

// testChain runs chain eth over nodes a and b. Group default holds a only
// and falls back to group backup holding b, so the first attempt goes to a
// and the second to b: tests need no luck with selection.
func testChain(t *testing.T, a, b *testNode, extra string) *fleet.Chain {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(`
chains:
  eth:
    chain_id: 1337
    poll_interval: 50ms
%s    nodes: {a: {url: %q}, b: {url: %q}}
    groups:
      default: {nodes: [a], fallback: backup}
      backup: {methods: [x_unused], nodes: [b]}
`, extra, a.srv.URL, b.srv.URL)), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := fleet.NewChain("eth", fleet.SpecOf(cfg.Chains["eth"], cfg.Limits), slog.New(slog.DiscardHandler), telemetry.NewMetrics("test"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.Start(ctx)
	t.Cleanup(func() { cancel(); c.Stop() })
	waitFor(t, "nodes a and b selectable", func() bool {
		return c.Selectable(c.Node("a")) && c.Selectable(c.Node("b"))
	})
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func decode(t *testing.T, body string) *jsonrpc.Request {
	t.Helper()
	reqs, _, err := jsonrpc.Decode([]byte(body), 0)
	if err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return &reqs[0]
}

func call(t *testing.T, e *Executor, c *fleet.Chain, body string) (Answer, *relay.Record) {
	t.Helper()
	rec := relay.Get()
	t.Cleanup(func() { relay.Put(rec) })
	req := decode(t, body)
	return e.Single(context.Background(), c, c.Group(req.Method), 0, req, []byte(body), rec), rec
}

func outcomes(rec *relay.Record) string {
	var b strings.Builder
	for i, a := range rec.Attempts() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.Node + ":" + a.Outcome.String())
		if a.Hedge {
			b.WriteString("(hedge)")
		}
	}
	return b.String()
}

// errorsOf sums the error counts of the chain's nodes.
func errorsOf(c *fleet.Chain) uint64 {
	var n uint64
	for _, x := range c.Nodes() {
		n += x.Errors()
	}
	return n
}

var _ = node.DefaultMaxRequestBytes
