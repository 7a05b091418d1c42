package demo

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestClientRunWaitsForItsRequests pins part of the defect "rpcgate demo
// leaves goroutines behind at shutdown": Client.Run started one goroutine
// per request and returned without waiting for them. Run must return only
// once every request it started has finished and its connections are
// closed.
func TestClientRunWaitsForItsRequests(t *testing.T) {
	// On one P, a request goroutine woken by the cancel cannot run before
	// Run has returned and been checked, unless Run waits for it.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	baseline := goleak.IgnoreCurrent()

	arrived := make(chan struct{}, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body first: only then does the server watch the
		// connection and cancel r.Context() when the client goes away.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-r.Context().Done() // hold every request until the client gives up
	}))
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{URL: srv.URL, Rate: 200}
	left := make(chan []string, 1)
	go func() {
		c.Run(ctx)
		left <- clientGoroutines()
	}()
	for range 3 { // three requests in flight at the server
		<-arrived
	}
	cancel()
	if g := <-left; len(g) > 0 {
		t.Errorf("%d request goroutines still running after Run returned:\n\n%s", len(g), strings.Join(g, "\n\n"))
	}
	srv.Close()
	goleak.VerifyNone(t, baseline)
}

// clientGoroutines returns the stacks of goroutines running Client code
// other than Run itself.
func clientGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var left []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "demo.(*Client).once") {
			left = append(left, g)
		}
	}
	return left
}
