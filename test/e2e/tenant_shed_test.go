package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Under overload the gateway sheds low-priority traffic and keeps serving
// high-priority traffic: every high call is answered, every low call is
// answered or refused with 503 -32008 and Retry-After, and nothing is lost.
//
// Three nodes with two worker slots each. Each proxy delays every call by
// 50 ms before forwarding it, so a node serves about 40 calls/s: a loaded
// node. That is faithful for capacity, which is what the queues see (slots
// held for the duration of a call); anvil itself answers in microseconds
// and could not be saturated by a test client.
func TestShedLowKeepsHigh(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	ps := StartProxies(t, f)

	const highKey = "high-secret-0123456789ab"
	extra := `plans:
  anonymous: {priority: low}
  gold: {priority: high}
keys:
  - {name: gold1, key: "` + highKey + `", plan: gold}
`
	chainExtra := "    scheduling:\n      queue: {low: 8, high: 64}\n"
	// queue: 64 at the node, so it does not cap the high class below 64.
	cfg := WriteTenantConfig(t, ps, GatewayOpts{ChainExtra: chainExtra}, "workers: 2, queue: 64", extra)
	g := cfg.Start(t)
	eventually(t, 30*time.Second, "a, b, c up", allUp(t, g, "a", "b", "c"))

	delay := func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		select {
		case <-time.After(50 * time.Millisecond):
		case <-r.Context().Done():
		}
		return false
	}
	for _, p := range ps {
		p.SetFault(delay)
	}

	var (
		mu                     sync.Mutex
		lowSent, lowAnswered   int
		lowOK, lowShed         int
		highSent, highAnswered int
		bad                    []string
	)
	note := func(s string) {
		if len(bad) < 20 {
			bad = append(bad, s)
		}
	}
	body := func(id string) []byte { return rpcBodyID(id, "eth_getBalance", devAddress.Hex(), "latest") }
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 300}}
	ctx := context.Background()

	// The flood: 200 concurrent low callers, each sending again as soon as
	// it has its answer (after a short pause when shed, to stay a flood
	// rather than a busy loop), until the high calls are done.
	var stop atomic.Bool
	var floodWG sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 200; i++ {
		floodWG.Add(1)
		go func() {
			defer floodWG.Done()
			<-start
			for n := 0; !stop.Load(); n++ {
				mu.Lock()
				lowSent++
				mu.Unlock()
				r := sendRPC(ctx, client, g.URL, nil, body(fmt.Sprintf("low-%d-%d", i, n)))
				mu.Lock()
				lowAnswered++ // a reply of any kind; a transport error is noted as bad below
				shed := false
				switch {
				case r.Err != nil:
					lowAnswered--
					note("low: " + r.String())
				case r.OK():
					lowOK++
				case r.Status == http.StatusServiceUnavailable:
					e := r.Error()
					if e == nil || e.Code != -32008 || r.Header.Get("Retry-After") == "" {
						note("low 503 without -32008 and Retry-After: " + r.String())
					}
					lowShed++
					shed = true
				default:
					note("low: neither 200 with a result nor 503: " + r.String())
				}
				mu.Unlock()
				if shed {
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	close(start)

	// Wait until the low queues are full somewhere, then send the high
	// calls into the flood.
	eventually(t, 30*time.Second, "low requests shed by a full queue", func() (bool, string) {
		v := sumMetric(t, g, "rpcgate_queue_shed_total", map[string]string{"class": "low", "reason": "full"})
		return v > 0, fmt.Sprintf("rpcgate_queue_shed_total{class=low,reason=full} = %v", v)
	})
	var highWG sync.WaitGroup
	for i := 0; i < 30; i++ {
		highWG.Add(1)
		mu.Lock()
		highSent++
		mu.Unlock()
		go func() {
			defer highWG.Done()
			r := sendRPC(ctx, client, g.URL, map[string]string{"X-Api-Key": highKey}, body(fmt.Sprintf("high-%d", i)))
			mu.Lock()
			defer mu.Unlock()
			if r.Err == nil {
				highAnswered++
			}
			if !r.OK() {
				note("high: want HTTP 200 with a result, got " + r.String())
			}
		}()
		time.Sleep(10 * time.Millisecond) // spread over the flood
	}
	highWG.Wait()
	stop.Store(true)
	floodWG.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("low: %d sent, %d answered (%d ok, %d shed); high: %d sent, %d answered",
		lowSent, lowAnswered, lowOK, lowShed, highSent, highAnswered)
	if len(bad) > 0 {
		t.Errorf("%d bad answers (first 20): %q", len(bad), bad)
	}
	if lowAnswered != lowSent || highAnswered != highSent {
		t.Errorf("answers lost: low %d of %d answered, high %d of %d", lowAnswered, lowSent, highAnswered, highSent)
	}
	if lowShed == 0 {
		t.Errorf("no low request was shed (503): the flood did not saturate the nodes, so the test proves nothing")
	}
	if v := sumMetric(t, g, "rpcgate_queue_shed_total", map[string]string{"class": "high"}); v != 0 {
		t.Errorf("rpcgate_queue_shed_total{class=high} = %v, want 0", v)
	}
}
