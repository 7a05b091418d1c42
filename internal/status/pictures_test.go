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

// TestSampleRecordsNodes: the sampler writes one sample per node with a
// known state (unknown nodes are skipped) into the series.
func TestSampleRecordsNodes(t *testing.T) {
	t.Parallel()
	fs := threeNodes()
	fs.setState("eth", "c", StateUnknown)
	store := registry.NewMemory()
	series := store.(registry.Series)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); Sample(ctx, fs.source, series, time.Hour, nil, nil) }()
	deadline := time.Now().Add(10 * time.Second)
	var got []registry.NodeSeries
	for time.Now().Before(deadline) {
		got, _ = series.Series(context.Background(), "eth")
		if len(got) >= 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if len(got) != 2 || got[0].Node != "a" || got[1].Node != "b" {
		t.Fatalf("series %+v, want nodes a and b (c is unknown)", got)
	}
	if d := got[0].Days; len(d) != 1 || d[0].UpSec != time.Hour.Seconds() {
		t.Fatalf("a's days %+v, want one hour up today", d)
	}
	if r := got[0].Recent; len(r) != 1 || r[0].P99Ms != 40 {
		t.Fatalf("a's recent %+v, want p99 40 ms", r)
	}
}
