package config

import (
	"testing"
	"time"
)

func TestDecodeProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data []byte
		want []wantProblem
	}{
		{
			name: "unknown top-level key close to a known one",
			data: withChain(`listn: 127.0.0.1:8545`),
			want: []wantProblem{{line: 9, msg: []string{`"listn"`, "top level"}, hint: []string{`did you mean "listen"?`}}},
		},
		{
			name: "unknown key nowhere near lists valid keys",
			data: withChain(`admin: {listen: "127.0.0.1:1", tokken: x, zzzzzz: 1}`),
			want: []wantProblem{
				{line: 9, msg: []string{`"tokken"`, "in admin"}, hint: []string{`did you mean "token"?`}},
				{line: 9, msg: []string{`"zzzzzz"`}, hint: []string{"valid keys: allow_node_hosts, allowed_hosts, listen, token"}},
			},
		},
		{
			name: "unknown node key",
			data: replaceLine(5, `      a: {url: "http://10.0.0.1:8545", worker: 3}`),
			want: []wantProblem{{line: 5, msg: []string{`"worker"`, "chains.eth.nodes.a"}, hint: []string{`"workers"`}}},
		},
		{
			name: "camelCase key",
			data: replaceLine(3, `    chainId: 1`),
			want: []wantProblem{{line: 2, msg: []string{`"eth" has no chain_id`}}, {line: 3, msg: []string{`"chainId"`}, hint: []string{`did you mean "chain_id"?`}}},
		},
		{
			name: "yaml:\"-\" field is not a key",
			data: withChain(`file: x.yaml`),
			want: []wantProblem{{line: 9, msg: []string{`"file"`}, hint: []string{"valid keys: admin, chains, keys, limits, listen, orchestrator, plans, registry, sessions, shutdown_timeout, snapshots, summaries, tenancy"}}},
		},
		{
			name: "word where a number goes",
			data: replaceLine(5, `      a: {url: "http://10.0.0.1:8545", workers: lots}`),
			want: []wantProblem{{line: 5, msg: []string{"workers", `"lots"`, "whole number"}, hint: []string{"workers: 10"}}},
		},
		{
			name: "negative chain id",
			data: replaceLine(3, `    chain_id: -1`),
			want: []wantProblem{{line: 3, msg: []string{"chain_id", `"-1"`}}},
		},
		{
			name: "list where a mapping goes",
			data: withChain(`limits: [1, 2]`),
			want: []wantProblem{{line: 9, msg: []string{"limits", "want a mapping", "got a list"}}},
		},
		{
			name: "single value where a list goes",
			data: replaceLine(8, `      default: {nodes: a}`),
			want: []wantProblem{{line: 8, msg: []string{"nodes", "want a list"}, hint: []string{"[a, b]"}}},
		},
		{
			name: "mapping where a value goes",
			data: withChain(`listen: {host: x}`),
			want: []wantProblem{{line: 9, msg: []string{"listen", "want a single value", "got a mapping"}}},
		},
		{
			name: "bare integer duration",
			data: withChain(`shutdown_timeout: 5`),
			want: []wantProblem{{line: 9, msg: []string{"shutdown_timeout", "bare number"}, hint: []string{`"5s"`}}},
		},
		{
			name: "quoted bare integer duration",
			data: withChain(`shutdown_timeout: "30"`),
			want: []wantProblem{{line: 9, msg: []string{"bare number"}, hint: []string{`"30s"`}}},
		},
		{
			name: "not a duration",
			data: withChain(`shutdown_timeout: soon`),
			want: []wantProblem{{line: 9, msg: []string{"shutdown_timeout", `"soon"`, "not a duration"}, hint: []string{`"250ms"`}}},
		},
		{
			name: "duplicate key",
			data: withChain(`listen: 127.0.0.1:1`, `listen: 127.0.0.1:2`),
			want: []wantProblem{{line: 10, msg: []string{`"listen" is defined twice`, "line 9"}}},
		},
		{
			name: "duplicate node name",
			data: replaceLine(6, `      a: {url: "http://10.0.0.2:8545"}`),
			want: []wantProblem{
				{line: 6, msg: []string{`"a" is defined twice`, "line 5"}},
				{line: 8, msg: []string{`node "b"`}},
			},
		},
		{
			name: "top level is a list",
			data: yamlLines(`- a`, `- b`),
			want: []wantProblem{{line: 1, msg: []string{"the file", "want a mapping"}}},
		},
		{
			name: "syntax error",
			data: withChain(`listen: [127.0.0.1`),
			want: []wantProblem{{line: 9, msg: []string{"invalid YAML"}, hint: []string{"indentation"}}},
		},
		{
			name: "tab indentation",
			data: yamlLines(`chains:`, "\teth: {}"),
			want: []wantProblem{{line: 2, msg: []string{"invalid YAML"}}},
		},
		{
			name: "two documents",
			data: withChain(`---`, `listen: x`),
			want: []wantProblem{{line: 9, msg: []string{"more than one YAML document"}}},
		},
		{
			name: "self-referencing merge",
			data: yamlLines(`limits: &x {<<: *x}`),
			want: []wantProblem{{line: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkProblems(t, parseProblems(t, tt.data, envOf()), tt.want...)
		})
	}
}

func TestEmptyFileIsAFileLevelProblem(t *testing.T) {
	t.Parallel()
	for _, data := range []string{"", "\n", "# only a comment\n", "---\n"} {
		ps := parseProblems(t, []byte(data), envOf())
		if len(ps) != 1 || ps[0].Line != 0 || ps[0].Path != "" {
			t.Errorf("%q: got %v, want one file-level problem", data, ps)
		}
	}
}

func TestDurationValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"250ms", 250 * time.Millisecond},
		{`"1s"`, time.Second},
		{"1m30s", 90 * time.Second},
		{"1.5h", 90 * time.Minute},
	}
	for _, tt := range tests {
		cfg, err := Parse("test.yaml", withChain("shutdown_timeout: "+tt.in), envOf())
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if got := cfg.ShutdownTimeout.D(); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestMergeKeysAndAnchors(t *testing.T) {
	t.Parallel()
	data := yamlLines(
		`chains:`,
		`  eth:`,
		`    chain_id: 1`,
		`    nodes:`,
		`      a: &big {url: "http://10.0.0.1:8545", workers: 64, weight: 3}`,
		`      b: {<<: *big, url: "http://10.0.0.2:8545", weight: 1}`,
		`    groups:`,
		`      default: {nodes: [a, b]}`,
	)
	cfg, err := Parse("test.yaml", data, envOf())
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Chains["eth"].Nodes["b"]
	if b.URL != "http://10.0.0.2:8545" || b.Workers != 64 || b.Weight != 1 {
		t.Errorf("merged node b = %+v; want own url and weight, workers from the anchor", *b)
	}
}

func TestNullValuesMeanUnset(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("test.yaml", withChain(`listen:`, `shutdown_timeout: ~`, `limits:`), envOf())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != DefaultListen || cfg.ShutdownTimeout.D() != DefaultShutdownTimeout {
		t.Errorf("null values did not fall back to defaults: listen %q, shutdown_timeout %v", cfg.Listen, cfg.ShutdownTimeout)
	}
}

func TestClosest(t *testing.T) {
	t.Parallel()
	keys := []string{"url", "ws", "weight", "workers", "queue", "headers", "max_attempts", "fallback"}
	tests := []struct{ in, want string }{
		{"worker", "workers"},
		{"Workers", "workers"},
		{"max-attempts", "max_attempts"},
		{"maxAttempts", "max_attempts"},
		{"fallbak", "fallback"},
		{"header", "headers"},
		{"urls", "url"},
		{"nonsense", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		if got := closest(tt.in, keys); got != tt.want {
			t.Errorf("closest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
