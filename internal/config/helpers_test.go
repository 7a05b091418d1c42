package config

import (
	"strings"
	"testing"
)

// envOf returns an env lookup backed by a map, so tests never touch the
// process environment and can run in parallel.
func envOf(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// yamlLines joins lines into a document, so a test's line numbers can be
// counted from its source.
func yamlLines(lines ...string) []byte {
	return []byte(strings.Join(lines, "\n") + "\n")
}

// wantProblem describes one expected problem.
type wantProblem struct {
	line int
	msg  []string // substrings of Msg
	hint []string // substrings of Hint
}

// parseProblems parses data and returns its problems, failing if it loads.
func parseProblems(t *testing.T, data []byte, env func(string) (string, bool)) Problems {
	t.Helper()
	cfg, err := Parse("test.yaml", data, env)
	if err == nil {
		t.Fatalf("Parse succeeded, want problems; config: %+v", cfg)
	}
	if cfg != nil {
		t.Errorf("Parse returned a config along with an error")
	}
	ps, ok := AsProblems(err)
	if !ok {
		t.Fatalf("error is %T, want Problems: %v", err, err)
	}
	for _, p := range ps {
		if p.File != "test.yaml" {
			t.Errorf("problem %q has file %q, want test.yaml", p.Msg, p.File)
		}
	}
	return ps
}

// checkProblems asserts that ps holds exactly the wanted problems, in order.
func checkProblems(t *testing.T, ps Problems, want ...wantProblem) {
	t.Helper()
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), ps)
	}
	for i, w := range want {
		p := ps[i]
		if p.Line != w.line {
			t.Errorf("problem %d at line %d, want line %d: %v", i, p.Line, w.line, p)
		}
		for _, s := range w.msg {
			if !strings.Contains(p.Msg, s) {
				t.Errorf("problem %d message %q does not mention %q", i, p.Msg, s)
			}
		}
		for _, s := range w.hint {
			if !strings.Contains(p.Hint, s) {
				t.Errorf("problem %d hint %q does not mention %q", i, p.Hint, s)
			}
		}
	}
}

// validChain is a minimal valid chain; tests append to or change it. Lines:
//
//	1 chains:
//	2   eth:
//	3     chain_id: 1
//	4     nodes:
//	5       a: {url: "http://10.0.0.1:8545"}
//	6       b: {url: "http://10.0.0.2:8545"}
//	7     groups:
//	8       default: {nodes: [a, b]}
var validChain = []string{
	`chains:`,
	`  eth:`,
	`    chain_id: 1`,
	`    nodes:`,
	`      a: {url: "http://10.0.0.1:8545"}`,
	`      b: {url: "http://10.0.0.2:8545"}`,
	`    groups:`,
	`      default: {nodes: [a, b]}`,
}

// withChain returns validChain followed by extra lines (line 9 onwards).
func withChain(extra ...string) []byte {
	return yamlLines(append(append([]string{}, validChain...), extra...)...)
}

// replaceLine returns validChain with line n (1-based) replaced by lines
// (one or more), so later lines move down.
func replaceLine(n int, lines ...string) []byte {
	out := append([]string{}, validChain[:n-1]...)
	out = append(out, lines...)
	return yamlLines(append(out, validChain[n:]...)...)
}

func TestValidChainLoads(t *testing.T) {
	t.Parallel()
	if _, err := Parse("test.yaml", withChain(), envOf()); err != nil {
		t.Fatalf("the base config of these tests must load: %v", err)
	}
}
