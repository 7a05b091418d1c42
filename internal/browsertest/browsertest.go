// Package browsertest is test support for pages checked in a real browser:
// it finds Debian's Chromium (failing, never skipping, with a hint on how to
// install it), starts it headless with a throwaway profile, collects the
// JavaScript exceptions the page throws, and waits for a condition on the
// page. internal/status's tests and the e2e status test share it.
package browsertest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Path is $CHROMIUM, default /usr/bin/chromium. A missing browser fails the
// test: call it first to fail before any other set-up.
func Path(t testing.TB) string {
	t.Helper()
	exe := os.Getenv("CHROMIUM")
	if exe == "" {
		exe = "/usr/bin/chromium"
	}
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("chromium not found at %s (%v): run scripts/install-chromium.sh (make test does)", exe, err)
	}
	return exe
}

// Start starts headless Chromium with a throwaway profile and returns a tab
// context and a func listing the JavaScript exceptions the page has thrown.
// The browser is stopped when the test ends.
func Start(t testing.TB) (context.Context, func() []string) {
	t.Helper()
	exe := Path(t)
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

// WaitJS evaluates expr (a boolean JavaScript expression) every 100 ms
// until it is true, failing after timeout with the last error and the
// page's text.
func WaitJS(t testing.TB, ctx context.Context, timeout time.Duration, what, expr string) {
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
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			text, _ := chromedp.Run(cctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			cancel()
			t.Fatalf("timed out after %v waiting for %s (last error: %v); page text:\n%s", timeout, what, lastErr, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
