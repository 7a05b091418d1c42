package config

import (
	"reflect"
	"testing"

	"github.com/rpcgate/rpcgate/internal/nodespec"
)

// Every setting nodespec reports a problem on is a key of a config node,
// so the checker can place it at its line (name is the node's map key).
func TestNodeSpecFieldsAreNodeKeys(t *testing.T) {
	t.Parallel()
	keys := yamlFields(reflect.TypeOf(Node{}))
	for _, f := range []string{nodespec.FieldURL, nodespec.FieldWS, nodespec.FieldHeaders, nodespec.FieldWeight,
		nodespec.FieldWorkers, nodespec.FieldQueue, nodespec.FieldMaxRequestBytes} {
		if _, ok := keys[f]; !ok {
			t.Errorf("nodespec field %q is not a key of config.Node", f)
		}
	}
	if len(keys) != 7 {
		t.Errorf("config.Node has %d keys; a new one needs its place in nodespec.Spec", len(keys))
	}
}

func TestNodeSpecRulesInConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		data []byte
		want []wantProblem
	}{
		{
			name: "weight above the maximum",
			data: replaceLine(5, `      a: {url: "http://10.0.0.1:8545", weight: 1001}`),
			want: []wantProblem{{line: 5, msg: []string{`node "a": weight must be at most 1000, got 1001`}}},
		},
		{
			name: "workers and queue above their maxima",
			data: replaceLine(5, `      a: {url: "http://10.0.0.1:8545",`, `          workers: 4097, queue: 40000}`),
			want: []wantProblem{
				{line: 6, msg: []string{"workers must be at most 4096"}},
				{line: 6, msg: []string{"queue must be at most 32768"}},
			},
		},
		{
			name: "max_request_bytes negative",
			data: replaceLine(5, `      a: {url: "http://10.0.0.1:8545", max_request_bytes: -1}`),
			want: []wantProblem{{line: 5, msg: []string{"max_request_bytes must be at least 1, got -1"}}},
		},
		{
			name: "header value with a control character",
			data: replaceLine(5, `      a: {url: "http://10.0.0.1:8545", headers: {X-Key: "a\u0001b"}}`),
			want: []wantProblem{{line: 5, msg: []string{`header "X-Key" contains a control character`}}},
		},
		{
			name: "allow_node_hosts entry that is neither a CIDR nor a host glob",
			data: withChain(`admin: {allow_node_hosts: [10.0.0.0/8, "http://x:80"]}`),
			want: []wantProblem{{line: 9, msg: []string{`admin.allow_node_hosts: "http://x:80" is not a CIDR`}, hint: []string{"10.0.0.0/8"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkProblems(t, parseProblems(t, tc.data, envOf()), tc.want...)
		})
	}
}

func TestNodeSpecDefaultsInConfig(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("test.yaml", replaceLine(5, `      a: {url: "HTTP://10.0.0.1:8545", ws: "WSS://10.0.0.1:8546"}`), envOf())
	if err != nil {
		t.Fatalf("an upper-case scheme must load (schemes are case-insensitive): %v", err)
	}
	if got := cfg.Chains["eth"].Nodes["a"].MaxRequestBytes; got != 5<<20 {
		t.Errorf("max_request_bytes default = %d, want 5 MiB", got)
	}
	if _, err := Parse("test.yaml", withChain(`admin: {allow_node_hosts: [10.0.0.0/8, 192.168.1.7, "*.nodes.example", "fd00::/8"]}`), envOf()); err != nil {
		t.Errorf("valid allow_node_hosts refused: %v", err)
	}
}

// A node problem in the file is exactly nodespec's: the admin API and the
// registry show the same text.
func TestNodeProblemIsNodeSpecs(t *testing.T) {
	t.Parallel()
	ps := parseProblems(t, replaceLine(5, `      a: {url: "http://10.0.0.1:8545", headers: {"X Key": v}}`), envOf())
	s := nodespec.Spec{Name: "a", URL: "http://10.0.0.1:8545", Headers: map[string]string{"X Key": "v"}}
	s.ApplyDefaults()
	want := s.Validate()
	if len(ps) != 1 || len(want) != 1 {
		t.Fatalf("problems %v and %v, want one each", ps, want)
	}
	if ps[0].Msg != want[0].Msg || ps[0].Hint != want[0].Hint {
		t.Errorf("config says %q (hint %q), nodespec %q (hint %q)", ps[0].Msg, ps[0].Hint, want[0].Msg, want[0].Hint)
	}
}
