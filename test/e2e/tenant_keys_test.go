package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// A chain with keys: required refuses keyless, unknown and disabled keys
// with 401 -32006 and WWW-Authenticate; a key works from the path, the
// X-Api-Key header or ?key=; a plan limited to other chains gets 403
// -32007.
//
// The harness waits for a gateway by calling /eth without a key, so /eth
// stays keys: optional and a second chain, "other" (same nodes, same chain
// id), is the one with keys: required.
func TestKeysRequiredAndPlanChain(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a")
	ps := StartProxies(t, f)

	const (
		fullKey    = "full-secret-0123456789ab"
		narrowKey  = "narrow-secret-0123456789"
		runtimeKey = "runtime-secret-0123456789"
		unknownKey = "unknown-secret-0123456789"
	)
	chainExtra := fmt.Sprintf(`  other:
    chain_id: %d
    poll_interval: 200ms
    keys: required
    nodes:
      a: {url: %s}
    groups:
      default:
        nodes: ["a"]
`, chainID, strconv.Quote(ps["a"].URL))
	extra := `plans:
  full: {priority: high}
  narrow: {priority: high, chains: [other]}
keys:
  - {name: fullkey, key: "` + fullKey + `", plan: full}
  - {name: narrowkey, key: "` + narrowKey + `", plan: narrow}
`
	cfg := WriteTenantConfig(t, ps, GatewayOpts{ChainExtra: chainExtra}, "", extra)
	g := cfg.Start(t)
	other := g.Base + "/other"
	body := rpcBodyID(1, "eth_blockNumber")

	// The other chain's node must be checked before it can answer.
	eventually(t, 30*time.Second, "chain other answering a keyed call", func() (bool, string) {
		r := send(other, map[string]string{"X-Api-Key": fullKey}, body)
		return r.OK(), r.String()
	})

	want := func(what string, r rpcReply, status, code int) {
		t.Helper()
		if r.Err != nil || r.Status != status {
			t.Errorf("%s: want HTTP %d, got %s", what, status, r)
			return
		}
		e := r.Error()
		if e == nil || e.Code != code {
			t.Errorf("%s: want JSON-RPC error %d, got %s", what, code, r)
		}
		if status == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate: %s", what, r)
		}
	}
	wantOK := func(what string, r rpcReply) {
		t.Helper()
		if !r.OK() {
			t.Errorf("%s: want HTTP 200 with a result, got %s", what, r)
		}
	}
	// The three places a key may be given.
	ways := []struct {
		name string
		req  func(secret string) rpcReply
	}{
		{"path /other/<key>", func(s string) rpcReply { return send(other+"/"+url.PathEscape(s), nil, body) }},
		{"X-Api-Key", func(s string) rpcReply { return send(other, map[string]string{"X-Api-Key": s}, body) }},
		{"?key=", func(s string) rpcReply { return send(other+"?key="+url.QueryEscape(s), nil, body) }},
	}

	// No key on a keys: required chain.
	want("no key on /other", send(other, nil, body), http.StatusUnauthorized, -32006)
	// /eth (optional) still serves keyless traffic.
	wantOK("no key on /eth (keys optional)", send(g.URL, nil, body))

	for _, w := range ways {
		wantOK("config key via "+w.name, w.req(fullKey))
		want("unknown key via "+w.name, w.req(unknownKey), http.StatusUnauthorized, -32006)
	}

	// A run-time key: works once added, 401 once disabled.
	code, resp := g.Admin(t, http.MethodPost, "/admin/keys", map[string]any{"name": "rt", "plan": "full", "key": runtimeKey})
	if code != http.StatusCreated {
		t.Fatalf("POST /admin/keys: HTTP %d: %s", code, resp)
	}
	for _, w := range ways {
		wantOK("run-time key via "+w.name, w.req(runtimeKey))
	}
	code, resp = g.Admin(t, http.MethodPost, "/admin/keys/rt/disable", nil)
	if code != http.StatusOK {
		t.Fatalf("POST /admin/keys/rt/disable: HTTP %d: %s", code, resp)
	}
	code, resp = g.Admin(t, http.MethodGet, "/admin/keys", nil)
	var list struct {
		Keys []struct {
			Name     string `json:"name"`
			Disabled bool   `json:"disabled"`
			Source   string `json:"source"`
		} `json:"keys"`
	}
	if code != http.StatusOK || json.Unmarshal(resp, &list) != nil {
		t.Fatalf("GET /admin/keys: HTTP %d: %s", code, resp)
	}
	found := false
	for _, k := range list.Keys {
		if k.Name == "rt" {
			found = true
			if !k.Disabled || k.Source != "runtime" {
				t.Errorf("GET /admin/keys lists rt as disabled=%v source=%q; want disabled=true source=runtime: %s", k.Disabled, k.Source, resp)
			}
		}
	}
	if !found {
		t.Errorf("GET /admin/keys does not list rt: %s", resp)
	}
	for _, w := range ways {
		want("disabled run-time key via "+w.name, w.req(runtimeKey), http.StatusUnauthorized, -32006)
	}
	// Disabled on /eth too: a presented key is checked even where keys
	// are optional (no fallback to anonymous).
	want("disabled run-time key on /eth", send(g.URL, map[string]string{"X-Api-Key": runtimeKey}, body), http.StatusUnauthorized, -32006)

	// A plan limited to chain other: 403 on /eth, served on /other.
	want("narrow plan (chains: [other]) on /eth", send(g.URL, map[string]string{"X-Api-Key": narrowKey}, body), http.StatusForbidden, -32007)
	wantOK("narrow plan (chains: [other]) on /other", send(other, map[string]string{"X-Api-Key": narrowKey}, body))

	for _, reason := range []string{"required", "unknown", "disabled"} {
		if v, _ := g.Metric(t, "rpcgate_auth_denied_total", map[string]string{"chain": "other", "reason": reason}); v == 0 {
			t.Errorf(`rpcgate_auth_denied_total{chain="other",reason=%q} = 0 after such refusals`, reason)
		}
	}
	if v, _ := g.Metric(t, "rpcgate_auth_denied_total", map[string]string{"chain": "eth", "reason": "chain"}); v != 1 {
		t.Errorf(`rpcgate_auth_denied_total{chain="eth",reason="chain"} = %v, want 1`, v)
	}
}
