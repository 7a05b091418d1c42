package status

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fleetState is an in-process source of views that a test changes while
// the handler serves it, the way node checkers change the real fleet.
type fleetState struct {
	mu     sync.Mutex
	chains []ChainView
	calls  atomic.Int64
}

func (f *fleetState) source() []ChainView {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]ChainView, len(f.chains))
	for i, c := range f.chains {
		c.Nodes = append([]NodeView(nil), c.Nodes...)
		out[i] = c
	}
	return out
}

func (f *fleetState) setState(chain, node, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.chains {
		c := &f.chains[i]
		if c.Name != chain {
			continue
		}
		c.Up = 0
		for j := range c.Nodes {
			if c.Nodes[j].Name == node {
				c.Nodes[j].State = state
			}
			if c.Nodes[j].State == StateOK {
				c.Up++
			}
		}
	}
}

func threeNodes() *fleetState {
	return &fleetState{chains: []ChainView{{
		Name: "eth", BestHead: 120, Up: 3, Total: 3,
		Nodes: []NodeView{
			{Name: "a", State: StateOK, Head: 120, LatencyP50: 3 * time.Millisecond, LatencyP99: 40 * time.Millisecond, InFlight: 2},
			{Name: "b", State: StateOK, Head: 120, LatencyP50: 1500 * time.Microsecond, ErrorRate: 0.25},
			{Name: "c", State: StateOK, Head: 118, Lag: 2},
		},
	}}}
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingHistory counts reads of a MemoryHistory (the real in-process
// implementation) so tests can see the cache at work.
type countingHistory struct {
	*MemoryHistory
	reads atomic.Int64
}

func (h *countingHistory) Events(ctx context.Context, chain string, since time.Time) ([]Event, error) {
	h.reads.Add(1)
	return h.MemoryHistory.Events(ctx, chain, since)
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func getJSON(t *testing.T, srv *httptest.Server) (pageJSON, []byte) {
	t.Helper()
	resp, body := get(t, srv.URL+JSONPath)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", JSONPath, resp.StatusCode, body)
	}
	var p pageJSON
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("decode %s: %v\n%s", JSONPath, err, body)
	}
	return p, body
}
