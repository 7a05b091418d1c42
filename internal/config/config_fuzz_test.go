package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that every failure is
// Problems whose entries are placed at a line or concern the whole file.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(withChain(`      logs: {methods: [eth_getLogs], nodes: [a], fallback: default}`))
	f.Add([]byte("a: &x [*x, *x]\nb: *x\n"))
	f.Add([]byte("chains: {eth: {<<: {chain_id: 1}, nodes: {a: {url: '${X}'}}}}\n"))
	f.Add(withChain(`plans: {pro: {priority: high, rate: {per_second: 1e300}}}`,
		`keys: [{name: a, key: s, plan: pro}, {name: b, hash: "sha256:`+sha256Hex("s")+`", plan: pro}]`,
		`tenancy: {trusted_proxies: ["::ffff:10.0.0.1", 10.0.0.0/8], costs: {eth_call: 3}}`))
	env := envOf("RPCGATE_ADMIN_TOKEN", "t", "NODE_A_TOKEN", "n", "X", "http://x", "ALICE_KEY", "alice")
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data, env)
		if err == nil {
			if cfg == nil {
				t.Fatal("Parse returned neither a config nor an error")
			}
			return
		}
		ps, ok := AsProblems(err)
		if !ok || len(ps) == 0 {
			t.Fatalf("error is not Problems: %T %v", err, err)
		}
		for _, p := range ps {
			fileLevel := p.Line == 0 && p.Path == ""
			if p.Line <= 0 && !fileLevel {
				t.Errorf("problem without a line: %#v", p)
			}
			if p.Msg == "" {
				t.Errorf("problem without a message: %#v", p)
			}
		}
	})
}
