package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/redistest"
)

// Usage accounting counts exactly what a key sent, per method, with
// compute units = requests × the method's cost, in the admin usage report
// (memory or Redis) and in the per-key Prometheus counter.
func TestUsageEqualsRequests(t *testing.T) {
	t.Parallel()
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		usageEqualsRequests(t, "")
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		addr, prefix := redistest.Shared(t)
		usageEqualsRequests(t, registryYAML(addr, prefix))
	})
}

func usageEqualsRequests(t *testing.T, registry string) {
	f := StartFleet(t, "a", "b")
	ps := StartProxies(t, f)
	const key = "u-secret-0123456789abcdef"
	extra := registry + `plans:
  generous: {priority: high, rate: {per_second: 10000, burst: 10000}, quota: {daily: 100000000}}
keys:
  - {name: u, key: "` + key + `", plan: generous, metrics: true}
`
	cfg := WriteTenantConfig(t, ps, GatewayOpts{}, "", extra)
	g := cfg.Start(t)
	hdr := map[string]string{"X-Api-Key": key}

	sends := []struct {
		method string
		params []any
		n      int
	}{
		{"eth_blockNumber", nil, 7},
		{"eth_getBalance", []any{devAddress.Hex(), "latest"}, 5},
		{"eth_getLogs", []any{map[string]any{"fromBlock": "0x0", "toBlock": "latest"}}, 3},
	}
	id := 0
	for _, s := range sends {
		for i := 0; i < s.n; i++ {
			id++
			if r := send(g.URL, hdr, rpcBodyID(id, s.method, s.params...)); !r.OK() {
				t.Fatalf("%s: want HTTP 200 with a result, got %s", s.method, r)
			}
		}
	}
	batch := `[{"jsonrpc":"2.0","id":100,"method":"eth_chainId","params":[]},{"jsonrpc":"2.0","id":101,"method":"eth_chainId","params":[]}]`
	if r := send(g.URL, hdr, []byte(batch)); r.Err != nil || r.Status != http.StatusOK {
		t.Fatalf("batch: want HTTP 200, got %s", r)
	} else {
		var items []struct {
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(r.Body, &items); err != nil || len(items) != 2 || items[0].Result == nil || items[1].Result == nil {
			t.Fatalf("batch: want two results, got %s", r)
		}
	}

	type mu struct {
		Requests     int64 `json:"requests"`
		ComputeUnits int64 `json:"compute_units"`
	}
	want := map[string]mu{
		"eth_blockNumber": {7, 7},
		"eth_getBalance":  {5, 5},
		"eth_getLogs":     {3, 60},
		"eth_chainId":     {2, 2},
	}
	var wantReq, wantCU int64
	for _, m := range want {
		wantReq += m.Requests
		wantCU += m.ComputeUnits
	}

	// Today and yesterday (UTC), summed, so a run across midnight still
	// sees every call.
	now := time.Now().UTC()
	path := fmt.Sprintf("/admin/keys/u/usage?from=%s&to=%s",
		now.Add(-24*time.Hour).Format(time.DateOnly), now.Add(time.Minute).Format(time.DateOnly))
	var last string
	var got map[string]mu
	var gotReq, gotCU int64
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := g.Admin(t, http.MethodGet, path, nil)
		last = fmt.Sprintf("HTTP %d: %s", code, body)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %s", path, last)
		}
		var rep struct {
			Key  string `json:"key"`
			Days []struct {
				Date         string        `json:"date"`
				Methods      map[string]mu `json:"methods"`
				Requests     int64         `json:"requests"`
				ComputeUnits int64         `json:"compute_units"`
			} `json:"days"`
		}
		if err := json.Unmarshal(body, &rep); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
		got, gotReq, gotCU = map[string]mu{}, 0, 0
		for _, d := range rep.Days {
			for m, u := range d.Methods {
				x := got[m]
				x.Requests += u.Requests
				x.ComputeUnits += u.ComputeUnits
				got[m] = x
			}
			gotReq += d.Requests
			gotCU += d.ComputeUnits
		}
		// Redis usage is flushed about every second: wait until the totals
		// reached what was sent (or passed it: then it is wrong anyway).
		if gotReq >= wantReq || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !maps.Equal(got, want) {
		t.Errorf("usage per method = %v; want %v\n%s", got, want, last)
	}
	if gotReq != wantReq || gotCU != wantCU {
		t.Errorf("usage totals: %d requests, %d compute units; want %d and %d\n%s", gotReq, gotCU, wantReq, wantCU, last)
	}

	labels := map[string]string{"plan": "generous", "key": "u"}
	if v, ok := g.Metric(t, "rpcgate_usage_requests_total", labels); !ok || v != float64(wantReq) {
		t.Errorf(`rpcgate_usage_requests_total{plan="generous",key="u"} = %v (present %v), want %d`, v, ok, wantReq)
	}
	if v, ok := g.Metric(t, "rpcgate_usage_compute_units_total", labels); !ok || v != float64(wantCU) {
		t.Errorf(`rpcgate_usage_compute_units_total{plan="generous",key="u"} = %v (present %v), want %d`, v, ok, wantCU)
	}
}
