package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// Harness for the tenancy tests (keys, plans, priorities, limits, usage):
// a config file with per-node options and top-level plans/keys, and a
// client that sends JSON-RPC with headers and reads the gateway's own
// error answers (code and data).

// WriteTenantConfig is WriteConfigFile with nodeOpts (YAML flow-mapping
// members such as "workers: 1, queue: 64") added to every node of the
// proxies, and extra (top-level YAML: plans, keys, tenancy, registry)
// appended.
func WriteTenantConfig(t testing.TB, proxies map[string]*Proxy, opts GatewayOpts, nodeOpts, extra string) *ConfigFile {
	t.Helper()
	c := WriteConfigFile(t, proxies, opts, extra)
	if nodeOpts == "" {
		return c
	}
	text := c.Text
	for _, p := range proxies {
		old := fmt.Sprintf("{url: %s}", strconv.Quote(p.URL))
		if !strings.Contains(text, old) {
			t.Fatalf("node line %s not found in the generated config:\n%s", old, text)
		}
		text = strings.ReplaceAll(text, old, fmt.Sprintf("{url: %s, %s}", strconv.Quote(p.URL), nodeOpts))
	}
	c.WriteRaw(t, text)
	return c
}

// queueDepths reads rpcgate_queue_depth of node on chain eth per class.
func queueDepths(t testing.TB, g *Gateway, node string) (ft, high, low float64) {
	t.Helper()
	get := func(class string) float64 {
		v, ok := g.Metric(t, "rpcgate_queue_depth", map[string]string{"chain": "eth", "node": node, "class": class})
		if !ok {
			t.Fatalf(`rpcgate_queue_depth{node=%q,class=%q} is missing from /metrics`, node, class)
		}
		return v
	}
	return get("fast-track"), get("high"), get("low")
}

// sumMetric adds up every sample of a counter or gauge whose labels
// include labels.
func sumMetric(t testing.TB, g *Gateway, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := g.metrics()
	if err != nil {
		t.Fatalf("read %s/metrics: %v", g.AdminURL, err)
	}
	fam, ok := fams[name]
	if !ok {
		return 0
	}
	total := 0.0
next:
	for _, m := range fam.GetMetric() {
		for k, v := range labels {
			if label(m, k) != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Untyped != nil:
			total += m.GetUntyped().GetValue()
		}
	}
	return total
}
