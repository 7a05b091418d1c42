package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/rpcgate/rpcgate/internal/browsertest"
	"github.com/rpcgate/rpcgate/internal/redistest"
	"github.com/rpcgate/rpcgate/internal/registry"
)

// TestStatusPagePictures seeds 90 days of uptime and 24 h of latency into
// the Redis registry of a real gateway over real anvil nodes, then opens
// /status in Chromium: each uptime strip has 90 bars, the seeded outage day
// is red with its figure in the bar's <title>, the latency chart has its
// lines, and no node URL is in the page. A screenshot is saved. With
// JavaScript disabled, the uptime figures and latest latencies are text.
func TestStatusPagePictures(t *testing.T) {
	t.Parallel()
	browsertest.Path(t)
	addr, prefix := redistest.Shared(t)
	f := StartFleet(t, "a", "b")
	ps := StartProxies(t, f)

	// Seed through the registry, as the gateway's sampler writes.
	store, err := registry.Open(context.Background(), registry.Config{Redis: "redis://" + addr + "/0", Prefix: prefix}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	series := store.(registry.Series)
	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	outage := today.AddDate(0, 0, -10)
	ctx := context.Background()
	for _, node := range []string{"a", "b"} {
		for d := 89; d >= 1; d-- {
			day := today.AddDate(0, 0, -d)
			up := !(node == "a" && day.Equal(outage))
			// 12 h per sample: the outage day of a is 12 h down, 12 h up (50 %).
			for h := 0; h < 2; h++ {
				s := registry.Sample{Chain: "eth", Node: node, At: day.Add(time.Duration(h) * 12 * time.Hour), Span: 12 * time.Hour, Up: up || h == 1}
				if err := series.RecordSample(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
		}
		for m := 23 * 60; m >= 5; m -= 15 {
			s := registry.Sample{Chain: "eth", Node: node, At: now.Add(-time.Duration(m) * time.Minute), Span: 0, Up: true,
				P50: time.Duration(5+m%40) * time.Millisecond, P99: time.Duration(50+m%90) * time.Millisecond, ErrorRate: 0.01}
			if err := series.RecordSample(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
	}

	g := WriteConfigFile(t, ps, GatewayOpts{}, registryYAML(addr, prefix)).Start(t)
	// Traffic, so the live latencies are known.
	for range 20 {
		if r := send(g.URL, nil, rpcBody("eth_blockNumber")); !r.OK() {
			t.Fatalf("eth_blockNumber: %s", r)
		}
	}

	bctx, thrown := browsertest.Start(t)
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1000, 900)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(g.Base+"/status")); err != nil {
		t.Fatalf("open status: %v", err)
	}
	browsertest.WaitJS(t, bctx, 20*time.Second, "nodes a and b ok with a known p50 latency",
		`["a","b"].every(n => document.querySelector('tr[data-node="'+n+'"] td[data-state="ok"]') &&
			/ms$/.test(document.querySelector('tr[data-node="'+n+'"] td[data-latency-p50]').textContent))`)
	browsertest.WaitJS(t, bctx, 5*time.Second, "90-bar uptime strips for the chain and both nodes", `(() => {
		const strips = [...document.querySelectorAll('svg[data-uptime-strip]')];
		return strips.length === 3 && strips.every(s => s.querySelectorAll('rect[data-day]').length === 90);
	})()`)
	day := outage.Format(time.DateOnly)
	browsertest.WaitJS(t, bctx, 5*time.Second, "the outage day of a red with 50.00% in its title", `(() => {
		const bar = document.querySelector('[data-node-pictures="a"] rect[data-day="`+day+`"]');
		return !!bar && bar.getAttribute("fill") === "#b3261e" && bar.querySelector("title").textContent === "`+day+`: 50.00%";
	})()`)
	browsertest.WaitJS(t, bctx, 5*time.Second, "the same day of b green at 100%", `(() => {
		const bar = document.querySelector('[data-node-pictures="b"] rect[data-day="`+day+`"]');
		return !!bar && bar.getAttribute("fill") === "#1a7f37" && bar.querySelector("title").textContent === "`+day+`: 100%";
	})()`)
	browsertest.WaitJS(t, bctx, 5*time.Second, "latency charts with p50 and p99 lines, error charts", `(() => {
		const c = document.querySelector('[data-node-pictures="a"] svg[data-chart="latency"]');
		return !!c && c.querySelector('polyline[data-series="p50"]').getAttribute("points").split(" ").length > 10 &&
			!!c.querySelector('polyline[data-series="p99"]') &&
			!!document.querySelector('[data-node-pictures="a"] svg[data-chart="errors"] polyline');
	})()`)
	page, err := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range ps {
		if strings.Contains(page, p.URL) || strings.Contains(page, strings.TrimPrefix(p.URL, "http://")) {
			t.Fatalf("the status page shows the URL of node %s", name)
		}
	}
	if strings.Contains(page, "127.0.0.1") {
		t.Fatal("the status page shows a node address (127.0.0.1)")
	}

	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("RPCGATE_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	for _, p := range []string{filepath.Join(dir, "status-screenshot.png"), "/tmp/status-screenshot.png"} {
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Errorf("save screenshot: %v", err)
		} else {
			t.Logf("screenshot saved to %s", p)
		}
	}
	if errs := thrown(); len(errs) > 0 {
		t.Fatalf("the page threw: %v", errs)
	}

	// On a phone-sized screen nothing but the node table (which scrolls in
	// its own box) is wider than the screen.
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitJS(t, bctx, 5*time.Second, "no horizontal overflow at 390 px",
		`document.documentElement.scrollWidth <= window.innerWidth && document.querySelector('svg[data-uptime-strip]').getBoundingClientRect().width <= window.innerWidth`)

	// Without JavaScript: a fresh tab with script execution disabled.
	nctx, cancel := chromedp.NewContext(bctx)
	defer cancel()
	if err := chromedp.Do(nctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}), chromedp.Navigate(g.Base+"/status")); err != nil {
		t.Fatalf("no-JS page: %v", err)
	}
	text, err := chromedp.Run(nctx, chromedp.OuterHTML(chromedp.CSS("main#chains")))
	if err != nil {
		t.Fatalf("no-JS page: %v", err)
	}
	var jsRan bool
	if upd, err := chromedp.Run(nctx, chromedp.OuterHTML(chromedp.CSS("#updated"))); err == nil {
		jsRan = strings.Contains(upd, "Updated ")
	}
	if jsRan {
		t.Errorf("status.js ran although JavaScript is disabled")
	}
	for _, want := range []string{day + ": 50.00%", `data-uptime-24h="">100%`, `<td data-latency-p50="">`} {
		if !strings.Contains(text, want) {
			t.Errorf("without JavaScript the page lacks %q", want)
		}
	}
	if strings.Contains(text, `<td data-latency-p50="">–</td>`) {
		t.Errorf("without JavaScript the latest p50 latency is not shown")
	}
	// And the plain HTTP body is the same server-rendered page.
	resp, err := http.Get(g.Base + "/status")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), day+": 50.00%") {
		t.Errorf("GET /status lacks the outage figure as text")
	}
}
