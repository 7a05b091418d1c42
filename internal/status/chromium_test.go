package status

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rpcgate/rpcgate/internal/browsertest"
)

// TestPageRendersInChromium loads the embedded page in real headless
// Chromium against a Handler over an in-process fleet, and follows a node
// going down: the page's JavaScript must fetch status.json under the strict
// CSP, render the data attributes the e2e test relies on, and refresh.
func TestPageRendersInChromium(t *testing.T) {
	t.Parallel()
	fs := threeNodes()
	hist := &MemoryHistory{}
	ctx := context.Background()
	for _, n := range []string{"a", "b", "c"} {
		hist.Record(ctx, Event{Chain: "eth", Node: n, Up: true, At: time.Now().Add(-time.Hour), Reason: StateOK})
	}
	srv := httptest.NewServer(&Handler{Source: fs.source, History: hist})
	defer srv.Close()

	bctx, exceptions := browsertest.Start(t)
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+PagePath)); err != nil {
		t.Fatalf("open %s: %v", srv.URL+PagePath, err)
	}
	browsertest.WaitJS(t, bctx, 20*time.Second, "nodes a, b and c listed as ok",
		`["a","b","c"].every(n => document.querySelector('tr[data-node="'+n+'"] td[data-state="ok"]'))`)
	browsertest.WaitJS(t, bctx, 5*time.Second, "the chain header", `(() => {
		const s = document.querySelector('section[data-chain="eth"]');
		return !!s && s.dataset.health === "ok" && s.textContent.includes("3 of 3 nodes up") && s.textContent.includes("best head 120");
	})()`)
	// The stylesheet loaded under the CSP: a badge has its rounded border.
	browsertest.WaitJS(t, bctx, 5*time.Second, "status.css applied",
		`getComputedStyle(document.querySelector('.badge')).borderTopLeftRadius !== "0px"`)
	browsertest.WaitJS(t, bctx, 5*time.Second, "the loading message gone", `!document.querySelector('[data-loading]')`)

	fs.setState("eth", "c", StateEjected)
	hist.Record(ctx, Event{Chain: "eth", Node: "c", Up: false, At: time.Now(), Reason: StateEjected})
	browsertest.WaitJS(t, bctx, 20*time.Second, "c ejected with a down incident, 2 of 3 up", `(() => {
		const s = document.querySelector('section[data-chain="eth"]');
		return !!document.querySelector('tr[data-node="c"] td[data-state="ejected"]') &&
			!!document.querySelector('li[data-incident-node="c"][data-incident-kind="down"]') &&
			s.dataset.health === "degraded" && s.textContent.includes("2 of 3 nodes up");
	})()`)
	if errs := exceptions(); len(errs) > 0 {
		t.Fatalf("the page threw: %v", errs)
	}
}
