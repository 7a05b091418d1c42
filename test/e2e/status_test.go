package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rpcgate/rpcgate/internal/browsertest"
)

// TestStatusPageShowsNodeGoingDown opens the public status page of a real
// gateway in headless Chromium and kills one of three real nodes: the page
// must list every node, then show the dead one out of service with an
// incident, refreshing by itself.
func TestStatusPageShowsNodeGoingDown(t *testing.T) {
	t.Parallel()
	browsertest.Path(t) // no browser: fail before starting nodes
	f := StartFleet(t, "a", "b", "c")
	g := StartGateway(t, StartProxies(t, f), GatewayOpts{})

	// Without a browser first, so an unwired handler fails with a clear cause.
	requireStatusEndpoints(t, g)

	bctx, thrown := browsertest.Start(t)
	page := g.Base + "/status"
	if err := chromedp.Do(bctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open %s in chromium: %v", page, err)
	}
	browsertest.WaitJS(t, bctx, 20*time.Second, "the page to list nodes a, b and c as ok",
		`["a","b","c"].every(n => document.querySelector('tr[data-node="'+n+'"] td[data-state="ok"]'))`)

	f.Kill("c")
	browsertest.WaitJS(t, bctx, 20*time.Second, "node c shown out of service with a down incident", `(() => {
		const cell = document.querySelector('tr[data-node="c"] td[data-state]');
		return !!cell && cell.dataset.state !== "ok" && cell.dataset.state !== "unknown" &&
			!!document.querySelector('li[data-incident-node="c"][data-incident-kind="down"]');
	})()`)
	// The others are untouched.
	browsertest.WaitJS(t, bctx, 5*time.Second, "a and b still ok",
		`["a","b"].every(n => document.querySelector('tr[data-node="'+n+'"] td[data-state="ok"]'))`)
	if errs := thrown(); len(errs) > 0 {
		t.Fatalf("the status page threw JavaScript exceptions: %v", errs)
	}
}

// requireStatusEndpoints checks that the public listener serves the page,
// its JSON and its assets, and that the JSON names no node address.
func requireStatusEndpoints(t *testing.T, g *Gateway) {
	t.Helper()
	const wiring = "the status page is not served on the public listener: wire internal/status.Handler " +
		"at GET /status, /status.json and /status/assets/ (see internal/status)"
	get := func(path string) (int, http.Header, []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.Base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, resp.Header, body
	}
	for _, p := range []struct{ path, ctype string }{
		{"/status", "text/html"},
		{"/status/assets/status.js", "text/javascript"},
		{"/status/assets/status.css", "text/css"},
		{"/status.json", "application/json"},
	} {
		code, h, body := get(p.path)
		if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), p.ctype) {
			t.Fatalf("GET %s: HTTP %d, Content-Type %q, body %.200q\n%s", p.path, code, h.Get("Content-Type"), body, wiring)
		}
		if p.path == "/status" && !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("GET /status: Content-Security-Policy %q lacks default-src 'self'", h.Get("Content-Security-Policy"))
		}
	}
	// The nodes appear in the JSON once the gateway has checked them.
	eventually(t, 20*time.Second, "status.json to list nodes a, b and c of chain eth", func() (bool, string) {
		_, _, body := get("/status.json")
		var doc struct {
			Chains []struct {
				Name  string
				Nodes []struct{ Name, State string }
			}
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return false, fmt.Sprintf("decode: %v: %.300s", err, body)
		}
		if s := string(body); strings.Contains(s, "http://") || strings.Contains(s, "127.0.0.1") {
			t.Fatalf("status.json shows node addresses: %s", s)
		}
		names := map[string]bool{}
		for _, c := range doc.Chains {
			for _, n := range c.Nodes {
				names[c.Name+"/"+n.Name] = true
			}
		}
		return names["eth/a"] && names["eth/b"] && names["eth/c"], string(body)
	})
}
