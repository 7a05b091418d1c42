package status

import (
	"context"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
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

	bctx, exceptions := startBrowser(t)
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+PagePath)); err != nil {
		t.Fatalf("open %s: %v", srv.URL+PagePath, err)
	}
	waitJS(t, bctx, 20*time.Second, "nodes a, b and c listed as ok",
		`["a","b","c"].every(n => document.querySelector('tr[data-node="'+n+'"] td[data-state="ok"]'))`)
	waitJS(t, bctx, 5*time.Second, "the chain header", `(() => {
		const s = document.querySelector('section[data-chain="eth"]');
		return !!s && s.dataset.health === "ok" && s.textContent.includes("3 of 3 nodes up") && s.textContent.includes("best head 120");
	})()`)
	// The stylesheet loaded under the CSP: a badge has its rounded border.
	waitJS(t, bctx, 5*time.Second, "status.css applied",
		`getComputedStyle(document.querySelector('.badge')).borderTopLeftRadius !== "0px"`)
	waitJS(t, bctx, 5*time.Second, "the loading message gone", `!document.querySelector('[data-loading]')`)

	fs.setState("eth", "c", StateEjected)
	hist.Record(ctx, Event{Chain: "eth", Node: "c", Up: false, At: time.Now(), Reason: StateEjected})
	waitJS(t, bctx, 20*time.Second, "c ejected with a down incident, 2 of 3 up", `(() => {
		const s = document.querySelector('section[data-chain="eth"]');
		return !!document.querySelector('tr[data-node="c"] td[data-state="ejected"]') &&
			!!document.querySelector('li[data-incident-node="c"][data-incident-kind="down"]') &&
			s.dataset.health === "degraded" && s.textContent.includes("2 of 3 nodes up");
	})()`)
	if errs := exceptions(); len(errs) > 0 {
		t.Fatalf("the page threw: %v", errs)
	}
}

// startBrowser starts headless Chromium (from $CHROMIUM, default
// /usr/bin/chromium) with a throwaway profile and returns a tab context and
// a func listing the JavaScript exceptions the page has thrown.
func startBrowser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	exe := os.Getenv("CHROMIUM")
	if exe == "" {
		exe = "/usr/bin/chromium"
	}
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("chromium not found at %s (%v): run scripts/install-chromium.sh (make test does)", exe, err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	var mu sync.Mutex
	var thrown []string
	bctx, cancelTab := chromedp.NewContext(actx,
		chromedp.WithLogf(t.Logf),
		chromedp.WithListener(func(ev any) {
			if e, ok := ev.(*runtime.EventExceptionThrown); ok {
				mu.Lock()
				thrown = append(thrown, (&chromedp.ExceptionError{ExceptionDetails: e.ExceptionDetails}).Error())
				mu.Unlock()
			}
		}))
	// Registered after t.TempDir, so it runs first: the browser exits
	// before its profile folder is removed.
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// Start the browser now, without a timeout (one would stop it).
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium %s: %v", exe, err)
	}
	return bctx, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), thrown...) }
}

// waitJS evaluates expr (a boolean expression) every 100 ms until it is
// true, failing after timeout with the page's text.
func waitJS(t *testing.T, ctx context.Context, timeout time.Duration, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(cctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			t.Fatalf("timed out after %v waiting for %s (last error: %v); page text:\n%s", timeout, what, lastErr, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
