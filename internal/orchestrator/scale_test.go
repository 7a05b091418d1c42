package orchestrator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/agent"
	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/nodespec"
	"github.com/rpcgate/rpcgate/internal/orchestrator"
	"github.com/rpcgate/rpcgate/internal/redistest"
	"github.com/rpcgate/rpcgate/internal/registry"
)

// simNodes answers the verification and agent calls alike for every path
// (/n/<i> is node i): one chain, head 100, the same blocks everywhere.
func simNodes(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params []any           `json:"params"`
		}
		body, _ := io.ReadAll(r.Body)
		if json.Unmarshal(body, &req) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		var result any
		switch req.Method {
		case "eth_chainId":
			result = "0x539"
		case "eth_blockNumber":
			result = "0x64"
		case "eth_syncing":
			result = false
		case "net_peerCount":
			result = "0x5"
		case "web3_clientVersion":
			result = "sim/v1"
		case "eth_getBlockByNumber":
			n, _ := req.Params[0].(string)
			result = map[string]string{"hash": fmt.Sprintf("0x%064s", n[2:])}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// simFleet admits into a real Redis registry, as the gateway does.
type simFleet struct {
	store registry.Store
	ref   nodespec.Spec
}

func (f *simFleet) ObserveHead(string, string, uint64) {}
func (f *simFleet) ChainNames() []string               { return []string{"eth"} }
func (f *simFleet) Known(chain, name string) bool      { return false }
func (f *simFleet) Guard(context.Context, string, nodespec.Spec) error {
	return nil
}
func (f *simFleet) Chain(string) (orchestrator.ChainInfo, bool) {
	return orchestrator.ChainInfo{ChainID: 1337, MaxLag: 3, BestHead: 100, References: []nodespec.Spec{f.ref}}, true
}
func (f *simFleet) Admit(ctx context.Context, chain string, s nodespec.Spec) error {
	return f.store.Put(ctx, registry.Entry{Chain: chain, Name: s.Name, URL: s.URL, Weight: s.Weight, Source: registry.SourceOrchestrator})
}
func (f *simFleet) Retire(ctx context.Context, chain, name string) error {
	return f.store.Delete(ctx, chain, name)
}

// TestScaleJoin is the simulation behind docs/orchestrator.md#scale:
// agents (1,000; 100 with -short) join at once against simulated nodes;
// the orchestrator verifies each and stores it in Redis; two relayers
// watching the registry must each see every node. It logs the time until
// both do and the heap growth per node, and asserts only counts.
func TestScaleJoin(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	addr := redistest.Need(t)
	prefix := redistest.Prefix(t, addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func() registry.Store {
		s, err := registry.Open(ctx, registry.Config{Redis: "redis://" + addr + "/0", Prefix: prefix}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	nodes := simNodes(t)
	fleet := &simFleet{store: open(), ref: nodespec.Spec{Name: "ref", URL: nodes.URL + "/ref"}}

	// Two relayers: registry watchers, as every gateway replica runs.
	var relayers sync.WaitGroup
	var seen [2]atomic.Int64
	done := make(chan int, 2)
	for i := range 2 {
		store := open()
		relayers.Add(1)
		go func() {
			defer relayers.Done()
			var once sync.Once
			store.Watch(ctx, func(es []registry.Entry) {
				seen[i].Store(int64(len(es)))
				if len(es) >= n {
					once.Do(func() { done <- i })
				}
			})
		}()
	}
	defer relayers.Wait()
	defer cancel()

	o := orchestrator.New(orchestrator.Options{Fleet: fleet, Log: slog.New(slog.DiscardHandler), Config: config.Orchestrator{
		Listen: "127.0.0.1:0", JoinSecret: "s", Lease: config.Duration(time.Minute), CheckInterval: config.Duration(time.Minute),
		ProbationChecks: 3, Weight: 10}})
	if err := o.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer o.Stop()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	var agents sync.WaitGroup
	actx, stopAgents := context.WithCancel(ctx)
	for i := range n {
		a, err := agent.New(agent.Options{Node: fmt.Sprintf("%s/n/%d", nodes.URL, i), Chain: "eth", Name: fmt.Sprintf("sim-%d", i),
			Orchestrator: "ws://" + o.Addr(), Secret: "s", BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second, DrainTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		agents.Add(1)
		go func() {
			defer agents.Done()
			_ = a.Run(actx)
		}()
	}
	defer func() { stopAgents(); agents.Wait() }()
	deadline := time.After(5 * time.Minute)
	for got := 0; got < 2; got++ {
		select {
		case <-done:
		case <-deadline:
			t.Fatalf("after 5 minutes the relayers see %d and %d of %d nodes", seen[0].Load(), seen[1].Load(), n)
		}
	}
	elapsed := time.Since(start)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	members := len(o.Snapshot().Members)
	if members != n {
		t.Errorf("%d members, want %d", members, n)
	}
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d agents joined at once: every relayer used every node after %v; heap growth %d KiB in all (%.1f KiB per node, orchestrator, agent and relayers together in one process); %d goroutines",
		n, elapsed.Round(time.Millisecond), heap/1024, float64(heap)/1024/float64(n), runtime.NumGoroutine())
}
