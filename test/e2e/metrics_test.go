package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsParseAndShowLag reads /metrics with Prometheus' own text
// parser, makes node c lag by 10 blocks and sends a known and an unknown
// method: the lag shows, known methods keep their label and the unknown one
// is counted as "other".
func TestMetricsParseAndShowLag(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	g := StartGateway(t, StartProxies(t, f), GatewayOpts{})

	if _, err := scrape(t, g); err != nil {
		t.Fatalf("GET /metrics does not parse as Prometheus text: %v", err)
	}

	f.Mine(10, "a", "b")
	eventually(t, 20*time.Second, `rpcgate_node_lag{node="c"} >= 10`, func() (bool, string) {
		v, ok := g.nodeMetric(t, "rpcgate_node_lag", "c")
		return ok && v >= 10, fmt.Sprintf("present=%v value=%v", ok, v)
	})
	if v, ok := g.nodeMetric(t, "rpcgate_node_lag", "a"); !ok || v != 0 {
		t.Errorf(`rpcgate_node_lag{node="a"} = %v (present %v), want 0: a is at the head`, v, ok)
	}

	b := make([]byte, 6)
	_, _ = rand.Read(b)
	unknown := "e2e_unknown" + hex.EncodeToString(b)
	otherBefore := sumRequests(t, g, "other")
	for _, body := range [][]byte{
		rpcBody("eth_blockNumber"),
		rpcBody("eth_getBalance", devAddress.Hex(), "latest"),
		rpcBody(unknown),
	} {
		if code, _, resp := g.post(context.Background(), "/eth", body); code != http.StatusOK {
			t.Fatalf("POST %s: HTTP %d %s", body, code, resp)
		}
	}

	fams, err := scrape(t, g)
	if err != nil {
		t.Fatalf("GET /metrics does not parse: %v", err)
	}
	fam := fams["rpcgate_requests_total"]
	if fam == nil {
		t.Fatalf("no rpcgate_requests_total in /metrics")
	}
	methods := map[string]bool{}
	for _, m := range fam.GetMetric() {
		methods[label(m, "method")] = true
	}
	for _, want := range []string{"eth_blockNumber", "eth_getBalance", "other"} {
		if !methods[want] {
			t.Errorf("rpcgate_requests_total has no method=%q series; methods: %v", want, methods)
		}
	}
	if methods[unknown] {
		t.Errorf("rpcgate_requests_total has a series for the unknown method %q: clients could create series at will", unknown)
	}
	if after := sumRequests(t, g, "other"); after < otherBefore+1 {
		t.Errorf(`rpcgate_requests_total{method="other"} went from %v to %v after one unknown-method call`, otherBefore, after)
	}
}

// scrape reads and parses /metrics with expfmt's text parser.
func scrape(t testing.TB, g *Gateway) (map[string]*dto.MetricFamily, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.AdminURL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+g.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

func label(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// sumRequests adds up rpcgate_requests_total for method on chain eth over
// every group and outcome.
func sumRequests(t testing.TB, g *Gateway, method string) float64 {
	t.Helper()
	fams, err := scrape(t, g)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	sum := 0.0
	for _, m := range fams["rpcgate_requests_total"].GetMetric() {
		if label(m, "method") == method && label(m, "chain") == "eth" {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
