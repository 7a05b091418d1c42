package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/redistest"
)

// One key's rate limit holds across replicas: two gateway processes on one
// config share the limit through Redis, so together they admit the plan's
// rate, not twice it.
func TestRateLimitSharedAcrossReplicas(t *testing.T) {
	t.Parallel()
	addr, prefix := redistest.Shared(t)
	f := StartFleet(t, "a", "b")
	ps := StartProxies(t, f)

	const (
		key      = "k-secret-0123456789abcdef"
		rate     = 50.0
		duration = 5 * time.Second
	)
	extra := registryYAML(addr, prefix) + `plans:
  metered: {priority: high, rate: {per_second: 50, burst: 50}}
keys:
  - {name: k, key: "` + key + `", plan: metered}
`
	cfg := WriteTenantConfig(t, ps, GatewayOpts{}, "", extra)
	gws := []*Gateway{cfg.Start(t), cfg.Start(t)}

	type result struct {
		at    time.Duration // when the request was sent, since start
		reply rpcReply
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	stopAt := start.Add(duration)
	for gi, g := range gws {
		for c := 0; c < 8; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{Timeout: 30 * time.Second}
				for n := 0; time.Now().Before(stopAt); n++ {
					at := time.Since(start)
					r := sendRPC(ctx, client, g.URL, map[string]string{"X-Api-Key": key},
						rpcBodyID(fmt.Sprintf("g%d-c%d-%d", gi, c, n), "eth_chainId"))
					mu.Lock()
					results = append(results, result{at, r})
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()

	secs := int(duration / time.Second)
	admitted := make([]int, secs+1)
	refused := make([]int, secs+1)
	var bad []string
	for _, r := range results {
		s := int(r.at / time.Second)
		switch {
		case r.reply.OK():
			admitted[s]++
		case r.reply.Err == nil && r.reply.Status == http.StatusTooManyRequests:
			refused[s]++
			e := r.reply.Error()
			ra, err := strconv.Atoi(r.reply.Header.Get("Retry-After"))
			switch {
			case err != nil || ra < 1:
				bad = append(bad, "429 without Retry-After >= 1: "+r.reply.String())
			case e == nil || e.Code != -32005:
				bad = append(bad, "429 without JSON-RPC code -32005: "+r.reply.String())
			case e.Data == nil || e.Data.Limit != "rate":
				bad = append(bad, `429 without data.limit "rate": `+r.reply.String())
			}
		default:
			bad = append(bad, "neither 200 with a result nor 429: "+r.reply.String())
		}
	}
	t.Logf("per second of wall time (both gateways): admitted %v, refused %v", admitted, refused)
	if len(bad) > 0 {
		if len(bad) > 10 {
			bad = bad[:10]
		}
		t.Errorf("%d bad answers; first: %q", len(bad), bad)
	}

	// The acceptance: after the first second (burst), the admitted rate is
	// the plan's rate ±10%, across both gateways together.
	after := 0
	for s := 1; s < secs; s++ {
		after += admitted[s]
	}
	want := rate * float64(secs-1)
	if got := float64(after); got < want*0.9 || got > want*1.1 {
		t.Errorf("admitted %d in seconds 1-%d (both gateways); want %.0f ± 10%% (%.0f/s); per second %v",
			after, secs, want, rate, admitted[1:secs])
	}
	// Each gateway must have refused some: otherwise the test did not load
	// both, and sharing was not exercised.
	for i, g := range gws {
		v := sumMetric(t, g, "rpcgate_rate_limited_total", map[string]string{"plan": "metered", "limit": "rate"})
		if v == 0 {
			t.Errorf("gateway %d refused nothing (rpcgate_rate_limited_total{plan=metered,limit=rate} = 0): it was not saturated", i)
		}
	}
	total := 0
	for _, n := range refused {
		total += n
	}
	if total == 0 {
		t.Errorf("no request was refused: the clients did not exceed the rate")
	}
}
