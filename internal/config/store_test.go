package config

import (
	"strings"
	"testing"
)

func TestStoreValidation(t *testing.T) {
	t.Parallel()
	head := "listen: 127.0.0.1:1\nchains:\n  eth:\n    chain_id: 1\n"
	nodes := "    nodes: {a: {url: \"http://127.0.0.1:2\"}}\n"
	pg := "    store: {postgres: \"postgres://127.0.0.1/x\", role: reader}\n"
	bad := []struct{ yaml, want string }{
		{head + nodes + "    groups: {default: {nodes: [a]}}\n    store: {role: reader}\n", "store has no postgres URL"},
		{head + nodes + "    groups: {default: {nodes: [a]}}\n    store: {postgres: \"postgres://h/x\", role: boss}\n", `store role "boss" is not reader, writer or both`},
		// A store-only group needs a store that reads.
		{head + nodes + "    groups: {default: {nodes: [a]}, logs: {methods: [eth_getLogs], nodes: [], store: true}}\n", `group "logs" is store-backed but the chain has no store that reads`},
		{head + nodes + "    groups: {default: {nodes: [a]}, logs: {methods: [eth_getLogs], nodes: [], store: true}}\n    store: {postgres: \"postgres://h/x\", role: writer}\n", "store-backed"},
		// Without store: true, an empty group is still an error.
		{head + nodes + pg + "    groups: {default: {nodes: [a]}, logs: {methods: [eth_getLogs], nodes: []}}\n", `group "logs" has no nodes`},
	}
	for _, c := range bad {
		_, err := Parse("rpcgate.yaml", []byte(c.yaml), envOf())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to mention %q", c.yaml, err, c.want)
		}
	}
	// A store-only logs group with nodes: [] is valid, and defaults apply.
	cfg, err := Parse("rpcgate.yaml", []byte(head+nodes+"    groups: {default: {nodes: [a]}, logs: {methods: [eth_getLogs], nodes: [], store: true}}\n    store: {postgres: \"postgres://h/x\"}\n"), envOf())
	if err != nil {
		t.Fatal(err)
	}
	st := cfg.Chains["eth"].Store
	if st.Role != StoreBoth || st.Timeout.D() != DefaultStoreTimeout || !st.Reads() || !st.Writes() {
		t.Errorf("store defaults not applied: %+v", st)
	}
}
