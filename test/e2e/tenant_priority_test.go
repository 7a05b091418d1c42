package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// Priority headers (X-Fast-Track, X-High-Priority) only count for plans
// with priority_header: true. Everyone else waits in their plan's class,
// whatever they send.
//
// The node has one worker slot. A proxy fault holds one marked eth_call
// (sent first, so it takes the slot) until the test releases it, which
// keeps every later request waiting in the node's queues where
// rpcgate_queue_depth shows its class. Holding the answer at the proxy is
// faithful for this: to the gateway it is a node still working on a call.
func TestPriorityHeaderIgnoredWithoutPlan(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a")
	ps := StartProxies(t, f)

	const (
		aliceKey = "alice-secret-0123456789"
		bobKey   = "bob-secret-0123456789abc"
		marker   = "0x5107f00d"
	)
	extra := `plans:
  anonymous: {priority: low}
  pro: {priority: high, priority_header: true}
  free: {priority: low}
keys:
  - {name: alice, key: "` + aliceKey + `", plan: pro}
  - {name: bob, key: "` + bobKey + `", plan: free}
`
	// A long chain timeout: the held call and the waiters must not hit
	// their deadline while the test reads metrics.
	cfg := WriteTenantConfig(t, ps, GatewayOpts{ChainExtra: "    timeout: 60s\n"}, "workers: 1", extra)
	g := cfg.Start(t)

	release := make(chan struct{})
	held := make(chan struct{}, 1)
	var mu sync.Mutex
	var order []string // ids of eth_getBalance calls as they reach the node
	ps["a"].SetFault(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		c, ok := parseCall(body)
		if !ok {
			return false
		}
		switch c.Method {
		case "eth_call":
			if bytes.Contains(body, []byte(marker)) {
				select {
				case held <- struct{}{}:
				default:
				}
				select {
				case <-release:
				case <-r.Context().Done():
				case <-time.After(2 * time.Minute):
				}
			}
		case "eth_getBalance":
			mu.Lock()
			order = append(order, string(c.ID))
			mu.Unlock()
		}
		return false // forward to the node
	})
	var releaseOnce sync.Once
	doRelease := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(doRelease)

	type sent struct {
		name  string
		reply rpcReply
	}
	var wg sync.WaitGroup
	replies := make(chan sent, 8)
	fire := func(name string, hdr map[string]string, body []byte) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies <- sent{name, send(g.URL, hdr, body)}
		}()
	}

	// 1. Take the only slot with the held call (anonymous: low, nobody
	// waits, so it is dispatched at once).
	fire("holder", nil, rpcBodyID("holder", "eth_call",
		map[string]any{"to": constAddress.Hex(), "data": marker}, "latest"))
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the marked eth_call never reached the node")
	}
	eventually(t, 10*time.Second, "the node's only slot in use", func() (bool, string) {
		v, _ := g.nodeMetric(t, "rpcgate_node_slots_in_use", "a")
		return v == 1, fmt.Sprintf("rpcgate_node_slots_in_use{node=a} = %v", v)
	})

	balance := func(id string) []byte { return rpcBodyID(id, "eth_getBalance", devAddress.Hex(), "latest") }
	both := func(extra map[string]string) map[string]string {
		h := map[string]string{"X-Fast-Track": "true", "X-High-Priority": "true"}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	waitDepths := func(what string, wantFT, wantHigh, wantLow float64) {
		t.Helper()
		// Poll until the newest request is queued (its class's depth
		// reached), then require the exact depths of every class.
		eventually(t, 15*time.Second, what, func() (bool, string) {
			ft, hp, lo := queueDepths(t, g, "a")
			return ft+hp+lo >= wantFT+wantHigh+wantLow,
				fmt.Sprintf("queue depth fast-track=%v high=%v low=%v", ft, hp, lo)
		})
		ft, hp, lo := queueDepths(t, g, "a")
		if ft != wantFT || hp != wantHigh || lo != wantLow {
			t.Fatalf("%s: queue depth fast-track=%v high=%v low=%v; want fast-track=%v high=%v low=%v",
				what, ft, hp, lo, wantFT, wantHigh, wantLow)
		}
	}

	// 2. bob (plan free: low, no header right) asks for both raises.
	fire("bob", both(map[string]string{"X-Api-Key": bobKey}), balance("bob"))
	waitDepths("bob (free plan) with X-Fast-Track and X-High-Priority queued as low", 0, 0, 1)

	// 3. Anonymous traffic asks for both too: still low.
	fire("anon", both(nil), balance("anon"))
	waitDepths("anonymous with X-Fast-Track and X-High-Priority queued as low", 0, 0, 2)

	// 4. alice (plan pro: high, priority_header) without headers waits as
	// high; with X-Fast-Track as fast-track.
	fire("alice-high", map[string]string{"X-Api-Key": aliceKey}, balance("alice-high"))
	waitDepths("alice (pro plan) without headers queued as high", 0, 1, 2)
	fire("alice-ft", map[string]string{"X-Api-Key": aliceKey, "X-Fast-Track": "true"}, balance("alice-ft"))
	waitDepths("alice (pro plan, priority_header) with X-Fast-Track queued as fast-track", 1, 1, 2)

	// 5. Free the slot: one worker, so the node sees the waiters one at a
	// time in dispatch order.
	doRelease()
	wg.Wait()
	close(replies)
	for s := range replies {
		if !s.reply.OK() {
			t.Errorf("%s: want HTTP 200 with a result, got %s", s.name, s.reply)
		}
	}
	mu.Lock()
	got := slices.Clone(order)
	mu.Unlock()
	want := []string{`"alice-ft"`, `"alice-high"`, `"bob"`, `"anon"`}
	if !slices.Equal(got, want) {
		t.Errorf("eth_getBalance calls reached the node in order %v; want %v (fast-track, high, then low in arrival order)", got, want)
	}
	ft, hp, lo := queueDepths(t, g, "a")
	if ft+hp+lo != 0 {
		t.Errorf("queues not empty after every call was answered: fast-track=%v high=%v low=%v", ft, hp, lo)
	}
}
