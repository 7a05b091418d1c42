package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Regression (issue 8 defect 2): 48 anonymous 6 MB calls ejected both nodes
// of a group (anvil resets the connection above about 3–5 MB), and
// legitimate reads got 503. A failure the request caused must not count
// against the node: calls above the node limit (5 MiB by default) never
// leave the gateway. (Large calls under the limit that a node cuts off
// cost it nothing either: internal/node TestLargeRequestCutNotCounted.)
func TestEngineLargeCallsEjectNoNode(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b")
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{})
	eventually(t, 30*time.Second, "a and b up", allUp(t, g, "a", "b"))

	load := StartLoad(t, g.URL, 8, balanceRead, headRead)
	load.waitReads(t, "eth_getBalance", 20)
	errsBefore := nodeErrors(t, g, "a", "b")

	big := largeCall(6 << 20)
	var wg sync.WaitGroup
	var refused, capped, late, other atomic.Int64
	var firstOther atomic.Value
	// All 100 at once. Under the race detector the gateway's scan of a
	// body is some 50 times slower, and 600 MB scanned at once starve a
	// small machine for tens of seconds: that would measure the detector,
	// so there they go 10 at a time.
	inFlight := make(chan struct{}, 100)
	if raceEnabled {
		inFlight = make(chan struct{}, 10)
	}
	for i := 0; i < 100; i++ {
		wg.Add(1)
		inFlight <- struct{}{}
		go func() {
			defer func() { <-inFlight; wg.Done() }()
			status, _, data := g.post(context.Background(), "/eth", big)
			switch {
			case status == http.StatusRequestEntityTooLarge && errorCode(t, data) == -32600 && strings.Contains(string(data), "node limit"):
				refused.Add(1)
			case status == http.StatusTooManyRequests && errorCode(t, data) == -32005 && strings.Contains(string(data), "max_inflight_body_bytes_per_ip"),
				status == http.StatusServiceUnavailable && errorCode(t, data) == -32008 && strings.Contains(string(data), "max_inflight_body_bytes"):
				// The listener's in-flight body caps (issue 8, defect 1)
				// refused it while it was still arriving: it never reached
				// a node either.
				capped.Add(1)
			case status == http.StatusGatewayTimeout && errorCode(t, data) == -32003:
				// Its own deadline passed before it was looked at (a
				// saturated machine, e.g. under -race): still never sent.
				late.Add(1)
			default:
				other.Add(1)
				firstOther.CompareAndSwap(nil, fmt.Sprintf("HTTP %d %s", status, clip(data)))
			}
		}()
	}
	wg.Wait()
	if refused.Load() == 0 || other.Load() != 0 {
		t.Errorf("of 100 calls of 6 MB, %d refused with HTTP 413 -32600 naming the node limit, %d by the listener's body caps, %d timed out, %d otherwise (first: %v)",
			refused.Load(), capped.Load(), late.Load(), other.Load(), firstOther.Load())
	}
	if n := ps["a"].Count("eth_call") + ps["b"].Count("eth_call"); n != 0 {
		t.Errorf("the nodes saw %d of the 6 MB calls; a call above the node limit must never leave the gateway", n)
	}
	t.Logf("6 MB calls: %d refused with 413, %d by the listener's body caps, %d timed out; node errors %v before, %v after",
		refused.Load(), capped.Load(), late.Load(), errsBefore, nodeErrors(t, g, "a", "b"))

	load.waitReads(t, "eth_getBalance", 50)
	load.Stop()
	load.requireNoFailures(t, "legitimate reads during 100 calls of 6 MB")
	for _, n := range []string{"a", "b"} {
		if up, _ := g.nodeMetric(t, "rpcgate_node_up", n); up != 1 {
			t.Errorf("node %s is down after large calls (rpcgate_node_up %v)", n, up)
		}
		if ej, _ := g.Metric(t, "rpcgate_node_state", map[string]string{"chain": "eth", "node": n, "state": "ejected"}); ej != 0 {
			t.Errorf("node %s was ejected by large calls", n)
		}
	}
	if strings.Contains(g.out.String(), `"node ejected"`) {
		t.Errorf("a node was ejected during the test (see log)")
	}
}

// largeCall is an eth_call whose body is about size bytes.
func largeCall(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"to":"0x0000000000000000000000000000000000000001","data":"0x`)
	b.Write(bytes.Repeat([]byte("00"), size/2))
	b.WriteString(`"},"latest"]}`)
	return b.Bytes()
}

// signal sends sig to the anvil process (SIGSTOP freezes it: its socket
// still accepts connections, nothing is answered).
func (a *Anvil) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	a.mu.Lock()
	cmd := a.cmd
	a.mu.Unlock()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to %s: %v", sig, a.Name, err)
	}
}

// Regression (issue 8 defect 4): with one of two nodes frozen by SIGSTOP,
// no request completed for about 9 s and 8 failed with 504. A frozen node
// costs a read at most one attempt timeout, and is ejected within a
// second or two. Not parallel: it bounds read latency, which other tests
// saturating the machine would measure instead.
func TestEngineFrozenNodeDoesNotStallReads(t *testing.T) {
	f := StartFleet(t, "a", "b", "c")
	f.Mine(1)
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{})
	eventually(t, 30*time.Second, "a, b and c up", allUp(t, g, "a", "b", "c"))

	type read struct {
		start time.Time
		took  time.Duration
		err   error
	}
	var (
		mu    sync.Mutex
		reads []read
	)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var ids atomic.Int64
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 30 * time.Second}
			for ctx.Err() == nil {
				start := time.Now()
				err := call(context.Background(), client, g.URL, ids.Add(1), balanceRead)
				mu.Lock()
				reads = append(reads, read{start, time.Since(start), err})
				mu.Unlock()
			}
		}()
	}
	t.Cleanup(func() { stop(); wg.Wait() })

	waitCount := func(n int) {
		mu.Lock()
		target := len(reads) + n
		mu.Unlock()
		eventually(t, 60*time.Second, fmt.Sprintf("%d more reads", n), func() (bool, string) {
			mu.Lock()
			defer mu.Unlock()
			return len(reads) >= target, fmt.Sprintf("%d reads", len(reads))
		})
	}
	waitCount(100)

	frozen := f.Node("b")
	frozenAt := time.Now()
	frozen.signal(t, syscall.SIGSTOP)
	eventually(t, 30*time.Second, `rpcgate_node_up{node="b"} == 0`, func() (bool, string) {
		up, _ := g.nodeMetric(t, "rpcgate_node_up", "b")
		return up == 0, fmt.Sprintf("up=%v", up)
	})
	// Keep b frozen for 20 s of reads (the scenario).
	time.Sleep(time.Until(frozenAt.Add(20 * time.Second)))
	thawAt := time.Now()
	frozen.signal(t, syscall.SIGCONT)
	eventually(t, 90*time.Second, `rpcgate_node_up{node="b"} == 1 after SIGCONT`, func() (bool, string) {
		up, _ := g.nodeMetric(t, "rpcgate_node_up", "b")
		return up == 1, fmt.Sprintf("up=%v", up)
	})
	stop()
	wg.Wait()

	failed, slow, during := 0, 0, 0
	var firstErr error
	for _, r := range reads {
		if r.err != nil {
			failed++
			if firstErr == nil {
				firstErr = r.err
			}
		}
		if r.start.After(frozenAt.Add(time.Second)) && r.start.Before(thawAt) {
			during++
			if r.took > 2*time.Second {
				slow++
			}
		}
	}
	if during == 0 {
		t.Fatal("no read ran while b was frozen")
	}
	if failed != 0 {
		t.Errorf("%d of %d reads failed with b frozen; first: %v", failed, len(reads), firstErr)
	}
	if slow != 0 {
		t.Errorf("%d of %d reads that started after the freeze's first second took over 2 s", slow, during)
	}
}

// Issue 8 "also fix": a batch with one invalid element gets the real
// answers for its valid elements. Against anvil as it is (it answers per
// element), and against a node that refuses the whole batch with one error
// object, as the anvil of the report did: the proxy answers in its words.
func TestEngineBatchWithInvalidElement(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b")
	f.Mine(2)
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{})
	eventually(t, 30*time.Second, "a and b up", allUp(t, g, "a", "b"))
	body := []byte(`[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"bad_method"},{"jsonrpc":"2.0","id":3,"method":"eth_blockNumber"}]`)
	check := func(what string) {
		t.Helper()
		status, _, data := g.post(context.Background(), "/eth", body)
		if status != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", what, status, data)
		}
		got := parseBatch(t, data)
		if len(got) != 3 {
			t.Fatalf("%s: %d answers: %s", what, len(got), data)
		}
		if got[0].Error != nil || compact(t, got[0].Result) != `"0x539"` {
			t.Errorf("%s: eth_chainId answered %s, want \"0x539\"", what, data)
		}
		if got[2].Error != nil || compact(t, got[2].Result) != `"0x2"` {
			t.Errorf("%s: eth_blockNumber answered %s, want \"0x2\"", what, data)
		}
		if got[1].Error == nil || got[1].Error.Code == -32002 {
			t.Errorf("%s: bad_method answered %s, want the node's own error", what, data)
		}
	}
	check("anvil")

	whole := func(w http.ResponseWriter, r *http.Request, b []byte) bool {
		if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) && bytes.Contains(b, []byte("bad_method")) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"unknown variant `+"`bad_method`"+`"}}`)
			return true
		}
		return false
	}
	ps["a"].SetFault(whole)
	ps["b"].SetFault(whole)
	check("whole-batch error")
	var msg struct{}
	_ = json.Unmarshal([]byte("{}"), &msg)
}
