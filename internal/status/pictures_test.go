package status

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/registry"
)

// TestStatusJSONCarriesPictures: /status.json has the 90-day strip per
// chain and node (the seeded outage day at its figure, unobserved days
// null) and the 24 h latency buckets, and the HTML page has the same
// figures in SVG titles and as text.
func TestStatusJSONCarriesPictures(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	store := registry.NewMemory()
	series := store.(registry.Series)
	ctx := context.Background()
	outage := now.AddDate(0, 0, -5).Truncate(24 * time.Hour)
	for _, s := range []registry.Sample{
		{Chain: "eth", Node: "a", At: outage, Span: 6 * time.Hour, Up: false},
		{Chain: "eth", Node: "a", At: outage.Add(6 * time.Hour), Span: 18 * time.Hour, Up: true},
		{Chain: "eth", Node: "a", At: now.Add(-time.Hour), Up: true, P50: 4 * time.Millisecond, P99: 30 * time.Millisecond},
	} {
		if err := series.RecordSample(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	h := &Handler{Source: threeNodes().source, History: store, Series: series}
	srv := httptest.NewServer(h)
	defer srv.Close()
	_, body := get(t, srv.URL+JSONPath)
	var doc struct {
		Chains []struct {
			UptimeDays []struct {
				Day    string
				Uptime *float64
			} `json:"uptime_days"`
			Nodes []struct {
				Name       string
				UptimeDays []struct {
					Day    string
					Uptime *float64
				} `json:"uptime_days"`
				Latency []struct {
					P99 *float64 `json:"p99_ms"`
				} `json:"latency_24h"`
			}
		}
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	c := doc.Chains[0]
	if len(c.UptimeDays) != 90 || len(c.Nodes[0].UptimeDays) != 90 {
		t.Fatalf("strips have %d and %d days, want 90", len(c.UptimeDays), len(c.Nodes[0].UptimeDays))
	}
	day := outage.Format(time.DateOnly)
	for _, d := range c.Nodes[0].UptimeDays {
		switch {
		case d.Day == day && (d.Uptime == nil || *d.Uptime != 75):
			t.Fatalf("outage day %s: uptime %v, want 75", day, d.Uptime)
		case d.Day != day && d.Day != now.Format(time.DateOnly) && d.Uptime != nil:
			t.Fatalf("day %s without samples has uptime %v, want null", d.Day, *d.Uptime)
		}
	}
	if l := c.Nodes[0].Latency; len(l) != 1 || l[0].P99 == nil || *l[0].P99 != 30 {
		t.Fatalf("latency buckets %+v, want one with p99 30", l)
	}
	_, page := get(t, srv.URL+PagePath)
	for _, want := range []string{"<title>" + day + ": 75.00%</title>", `data-day-text="` + day + `">` + day + ": 75.00%", `data-chart="latency"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
