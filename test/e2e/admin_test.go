package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAdminRequiresToken calls every admin endpoint without a token and
// with a wrong one: each must answer 401 and change nothing.
func TestAdminRequiresToken(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	ps := StartProxies(t, f)
	g := StartGateway(t, map[string]*Proxy{"a": ps["a"], "b": ps["b"]}, GatewayOpts{})

	endpoints := []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/admin/nodes", nil},
		{http.MethodPost, "/admin/chains/eth/nodes", addNodeBody("c", ps["c"])},
		{http.MethodDelete, "/admin/chains/eth/nodes/a", nil},
		{http.MethodPost, "/admin/chains/eth/nodes/a/drain", nil},
		{http.MethodPost, "/admin/chains/eth/nodes/a/drain", `{"remove":true}`},
		{http.MethodPost, "/admin/chains/eth/nodes/a/undrain", nil},
		{http.MethodPost, "/admin/reload", nil},
		{http.MethodGet, "/metrics", nil},
		{http.MethodGet, "/debug/pprof/", nil},
		{http.MethodGet, "/no/such/path", nil}, // even a 404 must not be told apart without a token
	}
	auths := map[string]string{
		"no token":             "",
		"wrong token":          "Bearer " + strings.Repeat("0", len(g.Token)),
		"token prefix":         "Bearer " + g.Token[:len(g.Token)-1],
		"token without Bearer": g.Token,
		"basic scheme":         "Basic " + g.Token,
	}
	for _, ep := range endpoints {
		for what, auth := range auths {
			code, body := g.adminAs(t, auth, ep.method, ep.path, ep.body)
			if code != http.StatusUnauthorized {
				t.Errorf("%s %s with %s: HTTP %d, want 401; body %.200s", ep.method, ep.path, what, code, body)
			}
		}
	}

	// With the token the same API answers, and none of the refused calls
	// took effect: c was not added, a was neither drained nor removed.
	nodes, raw := g.AdminNodes(t)
	if _, ok := nodes["c"]; ok {
		t.Errorf("node c was added by an unauthorised request: %s", raw)
	}
	if n, ok := nodes["a"]; !ok || n.State == "draining" {
		t.Errorf("node a removed or drained by an unauthorised request: %s", raw)
	}
	if code, body := g.Admin(t, http.MethodGet, "/metrics", nil); code != http.StatusOK || !strings.Contains(string(body), "rpcgate_") {
		t.Errorf("GET /metrics with the token: HTTP %d %.200s", code, body)
	}
}

// TestAdminAddServeDrainRemoveUnderLoad adds a node through the API while
// clients read, drains it and removes it: the node takes reads only while
// it is in service, and no client read fails at any point.
func TestAdminAddServeDrainRemoveUnderLoad(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	ps := StartProxies(t, f)
	g := StartGateway(t, map[string]*Proxy{"a": ps["a"], "b": ps["b"]}, GatewayOpts{})
	c := ps["c"]

	load := StartLoad(t, g.URL, 4, balanceRead, headRead)
	load.waitReads(t, "eth_getBalance", 20)

	// Add c: 201, listed as a run-time node, and it starts taking reads.
	code, body := g.Admin(t, http.MethodPost, "/admin/chains/eth/nodes", addNodeBody("c", c))
	if code != http.StatusCreated {
		t.Fatalf("add c: HTTP %d, want 201: %s", code, body)
	}
	nodes, raw := g.AdminNodes(t)
	if n, ok := nodes["c"]; !ok || n.Source != "runtime" || !contains(n.Groups, "default") {
		t.Fatalf("after add, /admin/nodes does not list c as a runtime node of group default: %s", raw)
	}
	eventually(t, 20*time.Second, "c's proxy to serve eth_getBalance reads", func() (bool, string) {
		return c.Count("eth_getBalance") > 0, countsOf(ps)
	})

	// Drain c: 202; once its in-flight reads are done it gets no new ones.
	code, body = g.Admin(t, http.MethodPost, "/admin/chains/eth/nodes/c/drain", nil)
	if code != http.StatusAccepted {
		t.Fatalf("drain c: HTTP %d, want 202: %s", code, body)
	}
	eventually(t, 20*time.Second, "c draining with nothing in flight", func() (bool, string) {
		nodes, raw := g.AdminNodes(t)
		n := nodes["c"]
		return n.State == "draining" && n.InFlight == 0, raw
	})
	// Reads picked before the drain may still be on their way to c's proxy;
	// let the load answer a few rounds before taking the baseline.
	load.waitReads(t, "eth_getBalance", 40)
	base := c.Count("eth_getBalance")
	load.waitReads(t, "eth_getBalance", 300)
	if got := c.Count("eth_getBalance"); got != base {
		t.Errorf("drained c still got reads: eth_getBalance count went from %d to %d while 300 more reads were answered", base, got)
	}

	// Remove c: 200, and the node list no longer has it.
	code, body = g.Admin(t, http.MethodDelete, "/admin/chains/eth/nodes/c", nil)
	if code != http.StatusOK {
		t.Fatalf("remove c: HTTP %d, want 200: %s", code, body)
	}
	if nodes, raw := g.AdminNodes(t); nodes["c"].Name != "" {
		t.Errorf("after remove, /admin/nodes still lists c: %s", raw)
	}
	load.waitReads(t, "eth_getBalance", 40)
	load.Stop()
	load.requireNoFailures(t, "reads during add, drain and remove")

	// Bad requests, each refused with the status and field it deserves.
	foreign := StartForeignAnvil(t, "x", 999)
	foreignProxy := StartProxy(t, "x", foreign.URL)
	cases := []struct {
		name   string
		path   string
		body   any
		status int
		field  string // expected "field" in the answer ("" = not checked)
		text   string // must appear in "error" or "field"
	}{
		{"unknown field", "/admin/chains/eth/nodes",
			`{"name":"d","url":"` + c.URL + `","colour":"red"}`, http.StatusBadRequest, "", "colour"},
		{"ftp url", "/admin/chains/eth/nodes",
			map[string]any{"name": "d", "url": "ftp://x"}, http.StatusBadRequest, "url", ""},
		{"unknown group", "/admin/chains/eth/nodes",
			map[string]any{"name": "d", "url": c.URL, "groups": []string{"nosuchgroup"}}, http.StatusBadRequest, "groups", "nosuchgroup"},
		{"wrong chain id", "/admin/chains/eth/nodes",
			addNodeBody("x", foreignProxy), http.StatusUnprocessableEntity, "", ""},
		{"existing name", "/admin/chains/eth/nodes",
			addNodeBody("a", c), http.StatusConflict, "", ""},
		{"unknown chain", "/admin/chains/nosuchchain/nodes",
			addNodeBody("d", c), http.StatusNotFound, "", ""},
	}
	for _, tc := range cases {
		code, body := g.Admin(t, http.MethodPost, tc.path, tc.body)
		var eb struct {
			Error string `json:"error"`
			Field string `json:"field"`
		}
		_ = json.Unmarshal(body, &eb)
		switch {
		case code != tc.status:
			t.Errorf("%s: HTTP %d, want %d: %s", tc.name, code, tc.status, body)
		case eb.Error == "":
			t.Errorf("%s: answer has no error text: %s", tc.name, body)
		case tc.field != "" && eb.Field != tc.field:
			t.Errorf("%s: field %q, want %q: %s", tc.name, eb.Field, tc.field, body)
		case tc.text != "" && !strings.Contains(eb.Error+" "+eb.Field, tc.text):
			t.Errorf("%s: answer does not name %q: %s", tc.name, tc.text, body)
		}
	}
	// None of the refused adds changed the node set.
	nodes, raw = g.AdminNodes(t)
	if len(nodes) != 2 || nodes["a"].Name == "" || nodes["b"].Name == "" {
		t.Errorf("refused adds changed the node set: %s", raw)
	}
	if foreignProxy.Count("eth_chainId") == 0 {
		t.Errorf("the wrong-chain node was refused without being asked for its chain id (proxy saw %v)", foreignProxy.Counts())
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// countsOf describes every proxy's counts, for failure messages.
func countsOf(ps map[string]*Proxy) string {
	var b strings.Builder
	for name, p := range ps {
		b.WriteString(name)
		b.WriteString("=")
		raw, _ := json.Marshal(p.Counts())
		b.Write(raw)
		b.WriteString(" ")
	}
	return b.String()
}
