package node

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/nodespec"
)

// testServer answers probes like a node of chain 1337, cuts the connection
// of bodies above 1 MiB (as anvil does for large uploads), and holds calls
// of method "slow" until release closes.
func testServer(t *testing.T, release <-chan struct{}, arrived chan<- struct{}) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case len(body) > largeRequest:
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			_ = conn.Close()
		case strings.Contains(string(body), `"slow"`):
			arrived <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case strings.Contains(string(body), "eth_chainId"):
			fmt.Fprint(w, `{"jsonrpc":"2.0","id":1,"result":"0x539"}`)
		default:
			fmt.Fprint(w, `{"jsonrpc":"2.0","id":1,"result":"0x1"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func admitted(t *testing.T, url string, opts Options) *Node {
	t.Helper()
	opts.ChainID, opts.ProbeTimeout = 1337, time.Second
	spec := nodespec.Spec{Name: "a", URL: url, Workers: 4}
	spec.ApplyDefaults()
	n, err := New(spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.admit(context.Background()); err != nil {
		t.Fatal(err)
	}
	return n
}

// Regression (issue 8 defect 2): a connection cut on a large request was
// counted against the node, so large calls ejected healthy nodes.
func TestLargeRequestCutNotCounted(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	n := admitted(t, testServer(t, release, make(chan struct{}, 1)).URL, Options{FailThreshold: 1})
	for i := 0; i < 3; i++ {
		_, err := n.Send(context.Background(), &Call{Deadline: time.Now().Add(5 * time.Second), Body: make([]byte, 2<<20)})
		ne, ok := AsError(err)
		if !ok || !ne.ByRequest || ne.Kind != KindTransport {
			t.Fatalf("cut large request: %v (%+v), want a transport error blamed on the request", err, ne)
		}
	}
	if n.Errors() != 0 || n.State() != StateOK {
		t.Fatalf("errors %d state %v after cut large requests, want 0 and ok", n.Errors(), n.State())
	}
	_, err := n.Send(context.Background(), &Call{Deadline: time.Now().Add(time.Second), Body: make([]byte, DefaultMaxRequestBytes+1)})
	if ne, ok := AsError(err); !ok || ne.Kind != KindRequestTooLarge || !ne.NotSent() || ne.Limit != DefaultMaxRequestBytes {
		t.Fatalf("body above the limit: %v, want KindRequestTooLarge, not sent", err)
	}
}

// Issue 8 defect 4: a timeout counts against a node only when the node
// answered nothing meanwhile; silent timeouts eject it.
func TestTimeoutJudgedBySignsOfLife(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	arrived := make(chan struct{}, 1)
	n := admitted(t, testServer(t, release, arrived).URL, Options{FailThreshold: 2, AttemptTimeoutMin: time.Millisecond, AttemptTimeoutMax: time.Second})
	slow := []byte(`{"jsonrpc":"2.0","id":2,"method":"slow"}`)

	// Slow call while the node answers another: the request's doing.
	done := make(chan error, 1)
	go func() {
		_, err := n.Send(context.Background(), &Call{Deadline: time.Now().Add(time.Minute), Timeout: 2 * time.Second, Body: slow})
		done <- err
	}()
	<-arrived
	if _, err := n.Send(context.Background(), &Call{Deadline: time.Now().Add(time.Second), Body: []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}`)}); err != nil {
		t.Fatal(err)
	}
	err := <-done
	if ne, ok := AsError(err); !ok || ne.Kind != KindTimeout || !ne.Attempt || !ne.ByRequest {
		t.Fatalf("slow call on a live node: %v (%+v), want an attempt timeout blamed on the request", err, ne)
	}
	if n.Errors() != 0 {
		t.Fatalf("errors %d after a slow call on a live node, want 0", n.Errors())
	}

	// Silent timeouts: counted, and fail_threshold of them eject.
	for i := 0; i < 2; i++ {
		go func() { <-arrived }()
		_, err := n.Send(context.Background(), &Call{Deadline: time.Now().Add(time.Minute), Timeout: 20 * time.Millisecond, Body: slow})
		if ne, ok := AsError(err); !ok || ne.Kind != KindTimeout || ne.ByRequest {
			t.Fatalf("silent timeout %d: %v", i, err)
		}
	}
	if n.Errors() != 2 || n.State() != StateEjected {
		t.Fatalf("after 2 silent timeouts: errors %d state %v, want 2 and ejected", n.Errors(), n.State())
	}
}

// Regression: a call whose caller had left (context canceled: a client
// that disconnected) was typed as a node timeout and counted toward
// ejection, so clients that hang up could eject a healthy node.
func TestCanceledCallerNotCounted(t *testing.T) {
	t.Parallel()
	srv := testServer(t, nil, nil)
	n := admitted(t, srv.URL, Options{FailThreshold: 2})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 10; i++ {
		_, err := n.Send(ctx, &Call{Deadline: time.Now().Add(time.Second), Body: []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}`)})
		if ne, ok := AsError(err); !ok || ne.Kind != KindCanceled {
			t.Fatalf("call %d: %v; want KindCanceled", i, err)
		}
	}
	if got := n.Errors(); got != 0 {
		t.Fatalf("node errors = %d after canceled calls, want 0", got)
	}
	if n.State() != StateOK {
		t.Fatalf("node state %s after canceled calls, want ok", n.State())
	}
}

// The gateway's own background reads (head following, finality polls) are
// not client traffic: like health probes they are not counted in the
// node's request counter, which tests and dashboards read as client
// attempts (TestWriteRetriedWhenNeverSent counted one too many).
func TestBackgroundCallNotCounted(t *testing.T) {
	t.Parallel()
	srv := testServer(t, nil, nil)
	n := admitted(t, srv.URL, Options{})
	before := n.Requests()
	resp, err := n.Send(context.Background(), &Call{Deadline: time.Now().Add(time.Second), Background: true,
		Body: []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}`)})
	if err != nil {
		t.Fatal(err)
	}
	resp.Release()
	if got := n.Requests() - before; got != 0 {
		t.Fatalf("a background read counted %d node requests, want 0", got)
	}
}
