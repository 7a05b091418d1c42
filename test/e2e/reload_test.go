package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestReloadMovesMethodToNewGroup rewrites the config under load so that
// eth_getLogs moves to a new group on a new node, and sends SIGHUP: the
// logs move, other reads never reach the new node, and no request fails.
// An invalid rewrite is then refused on SIGHUP and on POST /admin/reload,
// and the running mapping is kept.
func TestReloadMovesMethodToNewGroup(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	f.Mine(3)
	ps := StartProxies(t, f)
	cfg := WriteConfigFile(t, map[string]*Proxy{"a": ps["a"], "b": ps["b"]},
		GatewayOpts{Groups: map[string]GroupSpec{"default": {Nodes: []string{"a", "b"}}}}, "")
	g := cfg.Start(t)

	// c's balance reads are counted apart, never reset: c must get none.
	var cBalance atomic.Int64
	ps["c"].SetFault(onMethod("eth_getBalance", func(http.ResponseWriter, *http.Request, []byte) bool {
		cBalance.Add(1)
		return false
	}))

	load := StartLoad(t, g.URL, 4, logsRead, balanceRead)
	load.waitReads(t, "eth_getLogs", 20)
	if n := ps["a"].Count("eth_getLogs") + ps["b"].Count("eth_getLogs"); n == 0 {
		t.Fatalf("before the reload no eth_getLogs reached a or b: %s", countsOf(ps))
	}

	cfg.Rewrite(t, ps, GatewayOpts{Groups: map[string]GroupSpec{
		"default": {Nodes: []string{"a", "b"}},
		"logs":    {Methods: []string{"eth_getLogs"}, Nodes: []string{"c"}, Fallback: "default"},
	}}, "")
	g.Signal(t, syscall.SIGHUP)

	logsOnlyOnC := func() (bool, string) {
		ResetAll(ps)
		load.waitReads(t, "eth_getLogs", 30)
		a, b, c := ps["a"].Count("eth_getLogs"), ps["b"].Count("eth_getLogs"), ps["c"].Count("eth_getLogs")
		return a == 0 && b == 0 && c > 0, fmt.Sprintf("eth_getLogs after reset: a=%d b=%d c=%d", a, b, c)
	}
	eventually(t, 30*time.Second, "eth_getLogs to go only to c after SIGHUP", logsOnlyOnC)
	nodes, raw := g.AdminNodes(t)
	if !contains(nodes["c"].Groups, "logs") || contains(nodes["c"].Groups, "default") {
		t.Errorf("after the reload c should be in group logs only: %s", raw)
	}
	if n := cBalance.Load(); n != 0 {
		t.Errorf("c (group logs) got %d eth_getBalance calls; they belong to default (a, b)", n)
	}

	// An invalid config: SIGHUP keeps the running one...
	valid := cfg.Text
	cfg.WriteRaw(t, valid+"bogus_key: 1\n")
	g.Signal(t, syscall.SIGHUP)
	eventually(t, 20*time.Second, "the gateway to log the rejected reload", func() (bool, string) {
		return strings.Contains(g.out.String(), "reload rejected"), "no \"reload rejected\" in the log yet"
	})
	if ok, desc := logsOnlyOnC(); !ok {
		t.Errorf("after a rejected reload the mapping changed: %s", desc)
	}
	// ...and so does POST /admin/reload, which says what is wrong.
	code, body := g.Admin(t, http.MethodPost, "/admin/reload", nil)
	var eb struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &eb)
	if code != http.StatusUnprocessableEntity || !strings.Contains(eb.Error, "bogus_key") {
		t.Errorf("POST /admin/reload with an unknown key in the file: HTTP %d %s; want 422 naming bogus_key", code, body)
	}
	if ok, desc := logsOnlyOnC(); !ok {
		t.Errorf("after a rejected POST /admin/reload the mapping changed: %s", desc)
	}
	if g.exited() {
		t.Fatalf("the gateway exited after an invalid reload: %v", g.err)
	}

	load.Stop()
	load.requireNoFailures(t, "requests during the reloads")
	if n := cBalance.Load(); n != 0 {
		t.Errorf("c (group logs) got %d eth_getBalance calls over the test", n)
	}
}
