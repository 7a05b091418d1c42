package tenant

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rpcgate/rpcgate/internal/config"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	r := newTestResolver(t, testConfig(), NewMemoryKeys())

	type want struct {
		err       error
		key, plan string
		anonymous bool
		ip        string
		prio      Priority
		metrics   bool
		limitKey  string
		usageKey  string
	}
	alice := want{key: "alice", plan: "pro", ip: "203.0.113.5", prio: High, metrics: true, limitKey: "key:alice", usageKey: "key:alice"}
	bob := want{key: "bob", plan: "free", ip: "203.0.113.5", prio: Low, limitKey: "key:bob", usageKey: "key:bob"}
	anon := func(ip string) want {
		return want{plan: "anonymous", anonymous: true, ip: ip, prio: Low, limitKey: "ip:" + ip, usageKey: "plan:anonymous"}
	}
	with := func(w want, f func(*want)) want { f(&w); return w }

	tests := []struct {
		name      string
		chain     string
		chainKeys string
		segment   string
		target    string
		remote    string
		headers   [][2]string
		want      want
	}{
		{name: "path key", segment: aliceSecret, want: alice},
		{name: "header key", headers: [][2]string{{"X-Api-Key", bobSecret}}, want: bob},
		{name: "query key", target: "/eth?foo=1&key=" + bobSecret, want: bob},
		{name: "path wins over header", segment: aliceSecret, headers: [][2]string{{"X-Api-Key", bobSecret}}, want: alice},
		{name: "header wins over query", target: "/eth?key=" + aliceSecret, headers: [][2]string{{"X-Api-Key", bobSecret}}, want: bob},
		{name: "query key named like another param is not a key", target: "/eth?apikey=" + aliceSecret, want: anon("203.0.113.5")},
		{name: "anonymous", want: anon("203.0.113.5")},
		{name: "anonymous ipv6 peer", remote: "[2001:db9::7]:5555", want: anon("2001:db9::7")},
		{name: "anonymous ipv4-mapped peer", remote: "[::ffff:198.51.100.2]:5555", want: anon("198.51.100.2")},
		{name: "required chain without key", chainKeys: "required", want: want{err: ErrKeyRequired}},
		{name: "required chain with key", chainKeys: "required", segment: aliceSecret, want: alice},
		{name: "disabled key", segment: carolSecret, want: want{err: ErrKeyDisabled}},
		{name: "unknown key", headers: [][2]string{{"X-Api-Key", "not-a-key-0000000000"}}, want: want{err: ErrUnknownKey}},
		{name: "unknown key on required chain", chainKeys: "required", segment: "nope", want: want{err: ErrUnknownKey}},
		{name: "plan restricted to another chain", chain: "base", segment: bobSecret, want: want{err: ErrChainNotAllowed}},
		{name: "plan restricted to this chain", chain: "eth", segment: bobSecret, want: bob},

		// Priority headers.
		{name: "fast-track header with priority_header", segment: aliceSecret,
			headers: [][2]string{{"X-Fast-Track", "true"}}, want: with(alice, func(w *want) { w.prio = FastTrack })},
		{name: "fast-track header any case", segment: aliceSecret,
			headers: [][2]string{{"X-Fast-Track", "TRUE"}}, want: with(alice, func(w *want) { w.prio = FastTrack })},
		{name: "fast-track header false", segment: aliceSecret,
			headers: [][2]string{{"X-Fast-Track", "false"}}, want: alice},
		{name: "high header does not lower a plan", segment: aliceSecret,
			headers: [][2]string{{"X-High-Priority", "true"}}, want: alice},
		{name: "headers ignored without priority_header", segment: daveSecret,
			headers: [][2]string{{"X-Fast-Track", "true"}},
			want:    want{key: "dave", plan: "partner", ip: "203.0.113.5", prio: High, limitKey: "key:dave", usageKey: "key:dave"}},
		{name: "headers ignored for anonymous", headers: [][2]string{{"X-Fast-Track", "true"}, {"X-High-Priority", "true"}},
			want: anon("203.0.113.5")},

		// Client IP.
		{name: "XFF ignored from untrusted peer", headers: [][2]string{{"X-Forwarded-For", "1.2.3.4"}}, want: anon("203.0.113.5")},
		{name: "CF-Connecting-IP ignored from untrusted peer", headers: [][2]string{{"CF-Connecting-IP", "1.2.3.4"}}, want: anon("203.0.113.5")},
		{name: "XFF from trusted peer: right-most untrusted", remote: "10.1.2.3:999",
			headers: [][2]string{{"X-Forwarded-For", "1.2.3.4, 198.51.100.7, 10.9.9.9"}}, want: anon("198.51.100.7")},
		{name: "XFF over several header lines", remote: "10.1.2.3:999",
			headers: [][2]string{{"X-Forwarded-For", "1.2.3.4, 198.51.100.7"}, {"X-Forwarded-For", "10.9.9.9"}}, want: anon("198.51.100.7")},
		{name: "XFF of trusted proxies only: left-most", remote: "10.1.2.3:999",
			headers: [][2]string{{"X-Forwarded-For", "10.5.5.5,10.6.6.6"}}, want: anon("10.5.5.5")},
		{name: "XFF garbage stops the walk", remote: "10.1.2.3:999",
			headers: [][2]string{{"X-Forwarded-For", "1.2.3.4, bogus, 10.6.6.6"}}, want: anon("10.6.6.6")},
		{name: "XFF with ports", remote: "10.1.2.3:999",
			headers: [][2]string{{"X-Forwarded-For", "198.51.100.9:4444, [2001:db8::5]:80"}}, want: anon("198.51.100.9")},
		{name: "trusted peer without headers", remote: "10.1.2.3:999", want: anon("10.1.2.3")},
		{name: "trusted ipv6 peer", remote: "[2001:db8::1]:443",
			headers: [][2]string{{"X-Forwarded-For", "2001:db9::1"}}, want: anon("2001:db9::1")},
		{name: "CF-Connecting-IP from trusted CIDR", remote: "10.1.2.3:999",
			headers: [][2]string{{"CF-Connecting-IP", "198.51.100.8"}, {"X-Forwarded-For", "1.1.1.1"}}, want: anon("198.51.100.8")},
		{name: "CF-Connecting-IP from trusted single address", remote: "192.168.1.1:999",
			headers: [][2]string{{"CF-Connecting-IP", "198.51.100.8"}}, want: anon("198.51.100.8")},
		{name: "CF-Connecting-IP garbage falls back to XFF", remote: "10.1.2.3:999",
			headers: [][2]string{{"CF-Connecting-IP", "nope"}, {"X-Forwarded-For", "198.51.100.3"}}, want: anon("198.51.100.3")},
		{name: "peer next to a trusted single address is untrusted", remote: "192.168.1.2:999",
			headers: [][2]string{{"CF-Connecting-IP", "198.51.100.8"}}, want: anon("192.168.1.2")},
		{name: "keyed request behind proxy", remote: "10.1.2.3:999", segment: bobSecret,
			headers: [][2]string{{"X-Forwarded-For", "198.51.100.7"}}, want: with(bob, func(w *want) { w.ip = "198.51.100.7" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := tt.target
			if target == "" {
				target = "/eth"
			}
			req := httptest.NewRequest(http.MethodPost, target, strings.NewReader("{}"))
			req.RemoteAddr = "203.0.113.5:40000"
			if tt.remote != "" {
				req.RemoteAddr = tt.remote
			}
			for _, h := range tt.headers {
				req.Header.Add(h[0], h[1])
			}
			chain := tt.chain
			if chain == "" {
				chain = "eth"
			}
			id, err := r.Resolve(HTTP(req), chain, tt.chainKeys, tt.segment)
			if tt.want.err != nil {
				if !errors.Is(err, tt.want.err) {
					t.Fatalf("err = %v, want %v", err, tt.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{key: id.Key, plan: id.Plan, anonymous: id.Anonymous, ip: id.ClientIP.String(), prio: id.Priority,
				metrics: id.Metrics, limitKey: id.LimitKey, usageKey: id.UsageKey}
			if got != tt.want {
				t.Fatalf("identity =\n%+v\nwant\n%+v", got, tt.want)
			}
			if id.PlanCfg == nil || id.PlanCfg != testPlanOf(r, id.Plan) {
				t.Fatalf("PlanCfg = %p, want the configured plan %q", id.PlanCfg, id.Plan)
			}
		})
	}
}

func testPlanOf(r *Resolver, name string) *config.Plan {
	return r.table.Load().plans[name].cfg
}

func TestHTTPStatus(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]int{
		ErrUnknownKey: 401, ErrKeyDisabled: 401, ErrKeyRequired: 401, ErrChainNotAllowed: 403, errors.New("x"): 500,
	} {
		if got := HTTPStatus(err); got != want {
			t.Errorf("HTTPStatus(%v) = %d, want %d", err, got, want)
		}
	}
}

func TestResolveWithoutAnonymousPlan(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	delete(cfg.Plans, "anonymous")
	r := newTestResolver(t, cfg, nil)
	req := httptest.NewRequest(http.MethodPost, "/eth", nil)
	id, err := r.Resolve(HTTP(req), "eth", "optional", "")
	if err != nil {
		t.Fatal(err)
	}
	if !id.Anonymous || id.Plan != "anonymous" || id.Priority != Low || id.PlanCfg == nil || id.PlanCfg.Rate != nil ||
		id.PlanCfg.Quota != (config.Quota{}) || !id.MethodAllowed("debug_traceTransaction") {
		t.Fatalf("identity = %+v (plan %+v), want low priority and no limits", id, id.PlanCfg)
	}
}

func TestResolveUnparsableRemoteAddr(t *testing.T) {
	t.Parallel()
	r := newTestResolver(t, testConfig(), nil)
	req := httptest.NewRequest(http.MethodPost, "/eth", nil)
	req.RemoteAddr = "@" // a unix socket peer
	id, err := r.Resolve(HTTP(req), "eth", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if id.ClientIP.IsValid() || id.LimitKey != "ip:unknown" {
		t.Fatalf("ClientIP %v, LimitKey %q; want invalid and ip:unknown", id.ClientIP, id.LimitKey)
	}
}

func TestMethodAllowed(t *testing.T) {
	t.Parallel()
	r := newTestResolver(t, testConfig(), nil)
	ident := func(secret string) Identity {
		req := httptest.NewRequest(http.MethodPost, "/eth", nil)
		id, err := r.Resolve(HTTP(req), "eth", "", secret)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	tests := []struct {
		secret, method string
		want           bool
	}{
		{aliceSecret, "eth_call", true},               // pro: deny debug_*
		{aliceSecret, "debug_traceCall", false},       // denied by glob
		{aliceSecret, "trace_block", true},            // not denied
		{daveSecret, "eth_getLogs", true},             // partner: allow eth_*, net_version
		{daveSecret, "net_version", true},             // exact allow
		{daveSecret, "web3_clientVersion", false},     // not in allow
		{daveSecret, "eth_sendRawTransaction", false}, // deny wins over allow
		{bobSecret, "debug_traceCall", true},          // free: no method policy
		{"", "debug_traceCall", true},                 // anonymous plan: none
	}
	for _, tt := range tests {
		if got := ident(tt.secret).MethodAllowed(tt.method); got != tt.want {
			t.Errorf("%s: MethodAllowed(%q) = %v, want %v", ident(tt.secret).Plan, tt.method, got, tt.want)
		}
	}
	if !(Identity{}).MethodAllowed("anything") {
		t.Error("zero Identity refuses methods")
	}
}

func TestCost(t *testing.T) {
	t.Parallel()
	r := newTestResolver(t, testConfig(), nil)
	for method, want := range map[string]int{
		"eth_getLogs":            20, // built-in
		"eth_call":               3,  // tenancy.costs overrides the built-in 2
		"eth_getBalance":         0,  // an explicit 0 in costs is kept
		"debug_traceTransaction": 20,
		"trace_block":            20,
		"eth_blockNumber":        1, // default
	} {
		if got := r.Cost(method); got != want {
			t.Errorf("Cost(%q) = %d, want %d", method, got, want)
		}
	}
	cfg := testConfig()
	cfg.Tenancy.Costs = nil
	cfg.Tenancy.DefaultCost = 5
	r2 := newTestResolver(t, cfg, nil)
	if got := r2.Cost("eth_call"); got != 2 {
		t.Errorf("built-in Cost(eth_call) = %d, want 2", got)
	}
	if got := r2.Cost("eth_chainId"); got != 5 {
		t.Errorf("Cost with default_cost 5 = %d, want 5", got)
	}
}

func TestNewResolverRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*config.Config)
		want   string
	}{
		{"unknown plan", func(c *config.Config) { c.Keys[0].Plan = "gold" }, `keys[0] (alice).plan: plan "gold" is not defined`},
		{"key and hash", func(c *config.Config) { c.Keys[0].Hash = HashSecret("x") }, "give key or hash, not both"},
		{"neither key nor hash", func(c *config.Config) { c.Keys[0].Key = "" }, "needs key"},
		{"bad hash", func(c *config.Config) { c.Keys[1].Hash = "md5:abc" }, `keys[1] (bob).hash: hash must start with "sha256:"`},
		{"short hash", func(c *config.Config) { c.Keys[1].Hash = "sha256:abc" }, "64 hex digits"},
		{"duplicate name", func(c *config.Config) { c.Keys[1].Name = "alice" }, "names must be unique"},
		{"duplicate secret", func(c *config.Config) { c.Keys[1].Hash = HashSecret(aliceSecret) }, `same secret as key "alice"`},
		{"bad name", func(c *config.Config) { c.Keys[0].Name = "al ice" }, "keys[0].name"},
		{"reserved name", func(c *config.Config) { c.Keys[0].Name = "anonymous" }, "reserved"},
		{"bad priority", func(c *config.Config) { c.Plans["pro"].Priority = "urgent" }, `plans.pro.priority: unknown priority "urgent"`},
		{"unknown chain", func(c *config.Config) { c.Plans["free"].Chains = []string{"eht"} }, `plans.free.chains: chain "eht" is not configured (chains: base, eth)`},
		{"bad proxy", func(c *config.Config) { c.Tenancy.TrustedProxies = []string{"10.0.0.0/33"} }, "tenancy.trusted_proxies"},
		{"negative cost", func(c *config.Config) { c.Tenancy.Costs["eth_call"] = -1 }, "tenancy.costs.eth_call"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			tt.change(cfg)
			_, err := NewResolver(cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestReload(t *testing.T) {
	t.Parallel()
	r := newTestResolver(t, testConfig(), nil)
	req := httptest.NewRequest(http.MethodPost, "/eth", nil)

	bad := testConfig()
	bad.Keys[0].Plan = "gold"
	if err := r.Reload(bad); err == nil {
		t.Fatal("Reload accepted an invalid config")
	}
	if _, err := r.Resolve(HTTP(req), "eth", "", aliceSecret); err != nil {
		t.Fatalf("after a refused reload: %v", err)
	}

	next := testConfig()
	next.Keys = next.Keys[1:] // alice removed
	next.Plans["free"].Priority = "high"
	if err := r.Reload(next); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(HTTP(req), "eth", "", aliceSecret); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("removed key: err = %v, want ErrUnknownKey", err)
	}
	id, err := r.Resolve(HTTP(req), "eth", "", bobSecret)
	if err != nil || id.Priority != High {
		t.Fatalf("bob after reload: %+v, %v; want high priority", id, err)
	}
}

func TestPriorityParseString(t *testing.T) {
	t.Parallel()
	for _, p := range []Priority{Low, High, FastTrack} {
		got, err := ParsePriority(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePriority(%q) = %v, %v", p.String(), got, err)
		}
	}
	if p, err := ParsePriority(""); err != nil || p != Low {
		t.Errorf(`ParsePriority("") = %v, %v; want low`, p, err)
	}
	if !(FastTrack > High && High > Low) {
		t.Error("classes are not ordered by urgency")
	}
}

func TestParseHostAddr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"1.2.3.4": "1.2.3.4", "1.2.3.4:80": "1.2.3.4", "[::1]:80": "::1", "::1": "::1", "x": "invalid IP",
	} {
		if got := ParseHostAddr(in); got.String() != want {
			t.Errorf("ParseHostAddr(%q) = %v, want %s", in, got, want)
		}
	}
}
