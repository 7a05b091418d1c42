package route

import "testing"

func TestMethodsGroup(t *testing.T) {
	t.Parallel()
	m := NewMethods(map[string][]string{
		"logs":   {"eth_getLogs"},
		"debug":  {"debug_*"},
		"traces": {"debug_trace*"},
		"exact":  {"debug_traceTransaction"},
	}, "default", nil, nil)
	for _, tc := range []struct{ method, want string }{
		{"eth_getLogs", "logs"},
		{"eth_call", "default"},
		{"debug_getBadBlocks", "debug"},
		{"debug_traceCall", "traces"},       // longer glob wins
		{"debug_traceTransaction", "exact"}, // exact beats glob
		{"eth_getLogsX", "default"},         // exact only
		{"", "default"},
	} {
		if got := m.Group(tc.method); got != tc.want {
			t.Errorf("Group(%q) = %q, want %q", tc.method, got, tc.want)
		}
	}
}

func TestMethodsAllowDeny(t *testing.T) {
	t.Parallel()
	deny := NewMethods(nil, "default", nil, []string{"admin_*", "debug_setHead"})
	allow := NewMethods(nil, "default", []string{"eth_*", "net_version"}, []string{"eth_sign"})
	for _, tc := range []struct {
		m    *Methods
		name string
		want bool
	}{
		{deny, "eth_call", true},
		{deny, "admin_addPeer", false},
		{deny, "debug_setHead", false},
		{deny, "debug_traceCall", true},
		{allow, "eth_call", true},
		{allow, "net_version", true},
		{allow, "web3_clientVersion", false},
		{allow, "eth_sign", false}, // deny wins over allow
	} {
		if got := tc.m.Allowed(tc.name); got != tc.want {
			t.Errorf("Allowed(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestChainsResolve(t *testing.T) {
	t.Parallel()
	one := NewChains(map[string]int{"eth": 1}, nil, []string{"eth"})
	two := NewChains(map[string]int{"eth": 1, "op": 2}, map[string]string{"OP.rpc.example": "op"}, []string{"eth", "op"})
	for _, tc := range []struct {
		name       string
		c          *Chains[int]
		host, path string
		want       int
		rest       string
		ok         bool
	}{
		{"single chain at root", one, "x", "/", 1, "", true},
		{"single chain by path", one, "x", "/eth", 1, "", true},
		{"path with key", one, "x", "/eth/abc", 1, "abc", true},
		{"single chain unknown path", one, "x", "/nope", 0, "", false},
		{"two chains root is ambiguous", two, "x", "/", 0, "", false},
		{"by path", two, "x", "/op", 2, "", true},
		{"by host with port, case-insensitive", two, "op.RPC.example:443", "/", 2, "", true},
		{"path wins over host", two, "op.rpc.example", "/eth", 1, "", true},
	} {
		got, rest, ok := tc.c.Resolve(tc.host, tc.path)
		if got != tc.want || rest != tc.rest || ok != tc.ok {
			t.Errorf("%s: Resolve(%q, %q) = %v, %q, %v; want %v, %q, %v", tc.name, tc.host, tc.path, got, rest, ok, tc.want, tc.rest, tc.ok)
		}
	}
}
