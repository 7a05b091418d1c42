package status

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func TestStatusJSONShape(t *testing.T) {
	t.Parallel()
	fs := threeNodes()
	clk := &clock{t: t0}
	hist := &MemoryHistory{}
	ctx := context.Background()
	// c: up for the last 7 days except 6 h down that ended 2 h ago.
	hist.Record(ctx, Event{Chain: "eth", Node: "c", Up: true, At: t0.Add(-7 * 24 * time.Hour), Reason: "ok"})
	hist.Record(ctx, Event{Chain: "eth", Node: "c", Up: false, At: t0.Add(-8 * time.Hour), Reason: "ejected"})
	hist.Record(ctx, Event{Chain: "eth", Node: "c", Up: true, At: t0.Add(-2 * time.Hour), Reason: "ok"})
	// a: first seen 1 h ago, up since.
	hist.Record(ctx, Event{Chain: "eth", Node: "a", Up: true, At: t0.Add(-time.Hour), Reason: "ok"})
	// another chain's events stay out
	hist.Record(ctx, Event{Chain: "other", Node: "a", Up: false, At: t0.Add(-time.Minute), Reason: "ejected"})

	h := &Handler{Source: fs.source, History: hist, Now: clk.Now}
	srv := httptest.NewServer(h)
	defer srv.Close()

	page, raw := getJSON(t, srv)
	if page.GeneratedAt != "2026-03-10T12:00:00Z" {
		t.Errorf("generated_at = %q", page.GeneratedAt)
	}
	if len(page.Chains) != 1 {
		t.Fatalf("chains = %d, want 1: %s", len(page.Chains), raw)
	}
	c := page.Chains[0]
	if c.Name != "eth" || c.BestHead != 120 || c.Up != 3 || c.Total != 3 || len(c.Nodes) != 3 {
		t.Fatalf("chain = %+v", c)
	}
	a, b, cn := c.Nodes[0], c.Nodes[1], c.Nodes[2]
	if a.Name != "a" || a.State != "ok" || a.Head != 120 || a.Lag != 0 || a.InFlight != 2 {
		t.Errorf("node a = %+v", a)
	}
	if a.P50Ms == nil || *a.P50Ms != 3 || a.P99Ms == nil || *a.P99Ms != 40 {
		t.Errorf("node a latency = %v / %v, want 3 / 40 ms", a.P50Ms, a.P99Ms)
	}
	if b.P50Ms == nil || *b.P50Ms != 1.5 || b.P99Ms != nil || b.ErrorRate != 0.25 {
		t.Errorf("node b latency/error = %v / %v / %v, want 1.5 / null / 0.25", b.P50Ms, b.P99Ms, b.ErrorRate)
	}
	if cn.Head != 118 || cn.Lag != 2 {
		t.Errorf("node c = %+v", cn)
	}
	// Uptime from events: c was down 6 h of the last 24 h and of 7 d.
	wantPct(t, "c 24h", cn.Uptime24h, 100*18.0/24)
	wantPct(t, "c 7d", cn.Uptime7d, 100*(168.0-6)/168)
	// a was observed for one hour, all of it up.
	wantPct(t, "a 24h", a.Uptime24h, 100)
	wantPct(t, "a 7d", a.Uptime7d, 100)
	// b has no events: unknown, not 0% and not 100%.
	if b.Uptime24h != nil || b.Uptime7d != nil {
		t.Errorf("b uptime = %v / %v, want null (no events)", b.Uptime24h, b.Uptime7d)
	}
	for _, key := range []string{`"uptime_24h":null`, `"latency_p99_ms":null`, `"best_head":120`, `"incidents":[`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("JSON lacks %s:\n%s", key, raw)
		}
	}

	// Incidents: newest first, c's first "up" is no incident, a's neither.
	want := []Incident{
		{Node: "c", Kind: "up", At: "2026-03-10T10:00:00Z", Reason: "ok"},
		{Node: "c", Kind: "down", At: "2026-03-10T04:00:00Z", Reason: "ejected"},
	}
	if len(c.Incidents) != len(want) {
		t.Fatalf("incidents = %+v, want %+v", c.Incidents, want)
	}
	for i := range want {
		if c.Incidents[i] != want[i] {
			t.Errorf("incident %d = %+v, want %+v", i, c.Incidents[i], want[i])
		}
	}
}

func wantPct(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s uptime = null, want %.3f%%", what, want)
		return
	}
	if d := *got - want; d > 1e-9 || d < -1e-9 {
		t.Errorf("%s uptime = %.6f%%, want %.6f%%", what, *got, want)
	}
}

func TestStatusJSONKeepsLast20IncidentsNewestFirst(t *testing.T) {
	t.Parallel()
	hist := &MemoryHistory{}
	for i := range 30 {
		hist.Record(context.Background(), Event{Chain: "eth", Node: "c", Up: i%2 == 1, At: t0.Add(time.Duration(i-30) * time.Minute), Reason: "r"})
	}
	h := &Handler{Source: threeNodes().source, History: hist, Now: func() time.Time { return t0 }}
	srv := httptest.NewServer(h)
	defer srv.Close()
	page, _ := getJSON(t, srv)
	inc := page.Chains[0].Incidents
	if len(inc) != 20 {
		t.Fatalf("incidents = %d, want 20", len(inc))
	}
	if inc[0].At != "2026-03-10T11:59:00Z" || inc[0].Kind != "up" || inc[19].At != "2026-03-10T11:40:00Z" {
		t.Errorf("first %+v, last %+v", inc[0], inc[19])
	}
}

// The views carry no URLs by construction; this pins that nothing on the
// page path adds one (e.g. a future field or a history error message).
func TestStatusNeverShowsNodeAddresses(t *testing.T) {
	t.Parallel()
	fs := threeNodes()
	h := &Handler{Source: fs.source, History: failingHistory{}, Now: time.Now}
	srv := httptest.NewServer(h)
	defer srv.Close()
	page, raw := getJSON(t, srv)
	for _, bad := range []string{"http://", "https://", "ws://", "10.0.0.7", "redis"} {
		if strings.Contains(strings.ToLower(string(raw)), bad) {
			t.Errorf("status.json contains %q:\n%s", bad, raw)
		}
	}
	if !page.Chains[0].HistoryUnavailable || page.Chains[0].Nodes[0].Uptime24h != nil {
		t.Errorf("history failure not reported as unavailable: %s", raw)
	}
	if len(page.Chains[0].Nodes) != 3 {
		t.Errorf("live state must survive a history failure: %s", raw)
	}
}

// failingHistory fails the way a store that cannot be reached does, with
// its address in the message.
type failingHistory struct{}

func (failingHistory) Record(context.Context, Event) error { return nil }

func (failingHistory) Events(context.Context, string, time.Time) ([]Event, error) {
	return nil, errors.New("dial tcp redis://10.0.0.7:6379: connection refused")
}

func TestStatusJSONCachedForASecond(t *testing.T) {
	t.Parallel()
	fs := threeNodes()
	clk := &clock{t: t0}
	hist := &countingHistory{MemoryHistory: &MemoryHistory{}}
	h := &Handler{Source: fs.source, History: hist, Now: clk.Now}
	srv := httptest.NewServer(h)
	defer srv.Close()

	// A flood of concurrent views computes the JSON once.
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { getJSON(t, srv) })
	}
	wg.Wait()
	if n := fs.calls.Load(); n != 1 {
		t.Fatalf("source read %d times for 50 views at one instant, want 1", n)
	}
	if n := hist.reads.Load(); n != 1 {
		t.Fatalf("history read %d times for 50 views at one instant, want 1", n)
	}

	// Within the second: the cached copy, even though the fleet changed.
	fs.setState("eth", "c", StateEjected)
	clk.Add(900 * time.Millisecond)
	page, _ := getJSON(t, srv)
	if fs.calls.Load() != 1 || page.Chains[0].Nodes[2].State != StateOK {
		t.Fatalf("after 0.9s: source reads %d, c state %q; want the cached copy", fs.calls.Load(), page.Chains[0].Nodes[2].State)
	}

	// After it: recomputed, showing the change.
	clk.Add(200 * time.Millisecond)
	page, _ = getJSON(t, srv)
	if fs.calls.Load() != 2 || page.Chains[0].Nodes[2].State != StateEjected || page.Chains[0].Up != 2 {
		t.Fatalf("after 1.1s: source reads %d, chain %+v; want a fresh copy with c ejected", fs.calls.Load(), page.Chains[0])
	}
}

func TestStatusPageHeaders(t *testing.T) {
	t.Parallel()
	h := &Handler{Source: threeNodes().source}
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, body := get(t, srv.URL+PagePath)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /status: %d", resp.StatusCode)
	}
	hd := resp.Header
	if ct := hd.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := hd.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control = %q, want no-cache", cc)
	}
	csp := hd.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	html := string(body)
	for _, want := range []string{`data-chain="eth"`, `src="status/assets/status.js"`, `href="status/assets/status.css"`, `data-uptime-strip="eth"`, `data-chart="latency"`} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Strict CSP means no inline code and nothing from elsewhere.
	for _, bad := range []string{"<script>", "style=", "onclick", "onload", "http://", "https://", "//cdn"} {
		if strings.Contains(html, bad) {
			t.Errorf("page contains %q, which the CSP forbids or which leaves the origin", bad)
		}
	}

	for _, a := range []struct{ path, ctype string }{
		{AssetsPath + "status.js", "text/javascript"},
		{AssetsPath + "status.css", "text/css"},
	} {
		resp, body := get(t, srv.URL+a.path)
		if resp.StatusCode != http.StatusOK || len(body) == 0 || !strings.HasPrefix(resp.Header.Get("Content-Type"), a.ctype) {
			t.Errorf("GET %s: %d %q (%d bytes)", a.path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
		if strings.Contains(string(body), "http://") || strings.Contains(string(body), "https://") {
			t.Errorf("%s refers to another origin", a.path)
		}
		// Revalidation with the ETag costs no body.
		req, _ := http.NewRequest(http.MethodGet, srv.URL+a.path, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		r2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		if r2.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", a.path, r2.StatusCode)
		}
	}
	for _, p := range []string{AssetsPath + "index.html", AssetsPath + "nope.js", AssetsPath + "../web.go", AssetsPath} {
		if resp, _ := get(t, srv.URL+p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	resp, err := http.Post(srv.URL+JSONPath, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: %d, want 405", JSONPath, resp.StatusCode)
	}
}

func TestWrapRoutesOnlyStatusReads(t *testing.T) {
	t.Parallel()
	h := &Handler{Source: threeNodes().source}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Next", "1")
		w.WriteHeader(http.StatusTeapot)
	})
	srv := httptest.NewServer(h.Wrap(next))
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		toStatus     bool
	}{
		{"GET", "/status", true},
		{"GET", "/status.json", true},
		{"HEAD", "/status.json", true},
		{"GET", "/status/assets/status.js", true},
		{"POST", "/status", false}, // a chain named "status" keeps its JSON-RPC
		{"POST", "/eth", false},
		{"GET", "/healthz", false},
		{"GET", "/statusx", false},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Next") == ""; got != tc.toStatus {
			t.Errorf("%s %s: served by status = %v, want %v", tc.method, tc.path, got, tc.toStatus)
		}
	}
}
