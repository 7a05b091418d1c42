package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAdminAnalyticsRanksScriptedMix sends, through a real gateway over
// real anvil nodes, many eth_call from key A, slow eth_getLogs from key B
// (the proxy delays them) and failing calls from key C: the analytics page
// for 15m ranks A first by calls, B first by p99 and C first by errors, the
// JSON says the same, and neither answers without the admin token.
func TestAdminAnalyticsRanksScriptedMix(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a")
	ps := StartProxies(t, f)
	ps["a"].SetFault(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if strings.Contains(string(body), `"eth_getLogs"`) {
			time.Sleep(300 * time.Millisecond)
		}
		return false
	})
	const keyA, keyB, keyC = "key-a-secret-0123456789ab", "key-b-secret-0123456789ab", "key-c-secret-0123456789ab"
	extra := `plans:
  full: {priority: high}
keys:
  - {name: A, key: "` + keyA + `", plan: full}
  - {name: B, key: "` + keyB + `", plan: full}
  - {name: C, key: "` + keyC + `", plan: full}
`
	g := WriteTenantConfig(t, ps, GatewayOpts{}, "", extra).Start(t)
	hdr := func(k string) map[string]string { return map[string]string{"X-Api-Key": k} }
	for i := range 60 {
		r := send(g.URL, hdr(keyA), rpcBodyID(i, "eth_call", map[string]string{"to": "0x0000000000000000000000000000000000000001", "data": "0x"}, "latest"))
		if !r.OK() {
			t.Fatalf("eth_call from A: %s", r)
		}
	}
	for i := range 5 {
		r := send(g.URL, hdr(keyB), rpcBodyID(i, "eth_getLogs", map[string]any{"fromBlock": "0x0", "toBlock": "0x0",
			"address": fmt.Sprintf("0x%040x", i+1)}))
		if !r.OK() {
			t.Fatalf("eth_getLogs from B: %s", r)
		}
	}
	for i := range 20 {
		r := send(g.URL, hdr(keyC), rpcBodyID(i, "eth_getBalance", "0xnot-an-address", "latest"))
		if r.OK() {
			t.Fatalf("bad eth_getBalance from C succeeded: %s", r)
		}
	}

	for _, p := range []string{"/admin/analytics?window=15m", "/admin/analytics.json?window=15m"} {
		if code, _ := g.adminAs(t, "", http.MethodGet, p, nil); code != http.StatusUnauthorized {
			t.Fatalf("GET %s without the token: HTTP %d, want 401", p, code)
		}
	}
	code, body := g.Admin(t, http.MethodGet, "/admin/analytics.json?window=15m", nil)
	if code != http.StatusOK {
		t.Fatalf("analytics JSON: HTTP %d: %s", code, body)
	}
	var rep struct {
		Keys struct {
			RawCalls  []struct{ Name string } `json:"by_calls"`
			RawP99    []struct{ Name string } `json:"by_p99"`
			RawErrors []struct{ Name string } `json:"by_errors"`
		} `json:"keys"`
		Slow []struct{ Method, Node string } `json:"slow"`
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("decode: %v: %s", err, body)
	}
	first := func(rows []struct{ Name string }) string {
		if len(rows) == 0 {
			return ""
		}
		return rows[0].Name
	}
	if first(rep.Keys.RawCalls) != "A" || first(rep.Keys.RawP99) != "B" || first(rep.Keys.RawErrors) != "C" {
		t.Fatalf("JSON ranks %q by calls, %q by p99, %q by errors; want A, B, C:\n%s",
			first(rep.Keys.RawCalls), first(rep.Keys.RawP99), first(rep.Keys.RawErrors), body)
	}
	if len(rep.Slow) == 0 || rep.Slow[0].Method != "eth_getLogs" || rep.Slow[0].Node != "a" {
		t.Errorf("slowest request %+v, want eth_getLogs on node a", rep.Slow)
	}

	code, page := g.Admin(t, http.MethodGet, "/admin/analytics?window=15m", nil)
	if code != http.StatusOK {
		t.Fatalf("analytics page: HTTP %d", code)
	}
	for table, want := range map[string]string{"keys-calls": "A", "keys-p99": "B", "keys-errors": "C"} {
		s := string(page)
		i := strings.Index(s, `data-table="`+table+`"`)
		j := strings.Index(s[max(i, 0):], "<tbody>")
		if i < 0 || j < 0 || !strings.HasPrefix(strings.TrimSpace(s[i+j+len("<tbody>"):]), "<tr><td>"+want+"</td>") {
			t.Errorf("page table %s does not start with key %s", table, want)
		}
	}
	if strings.Contains(string(page), keyA) || strings.Contains(string(body), keyA) {
		t.Error("analytics shows a key's secret")
	}
}
