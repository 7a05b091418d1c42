package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	t.Setenv("RPCGATE_ADMIN_TOKEN", "secret")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(`listen: 127.0.0.1:18545
chains:
  eth:
    chain_id: 1337
    poll_intervall: 1s
    nodes:
      a: {url: "htp://127.0.0.1:19101"}
    groups:
      default: {nodes: [a, bb]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		out, err []string
	}{
		{"valid example", []string{"validate", "--config", "../../examples/minimal.yaml"}, 0,
			[]string{"ok (1 chain(s), 3 node(s))"}, nil},
		{"every problem with file:line", []string{"validate", "--config", bad}, 1, nil,
			[]string{bad + ":5:5: unknown key \"poll_intervall\"", "did you mean \"poll_interval\"",
				bad + ":7:", "htp://", bad + ":9:", `names node "bb"`, "3 problem(s)"}},
		{"missing file", []string{"validate", "--config", "/nonexistent.yaml"}, 1, nil, []string{"nonexistent.yaml"}},
		{"no --config", []string{"validate"}, 2, nil, []string{"--config FILE is required"}},
		{"unknown command", []string{"frobnicate"}, 2, nil, []string{`unknown command "frobnicate"`, "serve"}},
		{"version", []string{"version"}, 0, []string{"rpcgate dev (commit unknown, built unknown, go"}, nil},
		{"health: not an http URL", []string{"health", "--url", "ftp://127.0.0.1/readyz"}, 1, nil, []string{"not an http(s) URL"}},
		{"health: stray argument", []string{"health", "extra"}, 2, nil, []string{"usage: health"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, &stdout, &stderr)
			}
			for _, want := range tc.out {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, &stdout)
				}
			}
			for _, want := range tc.err {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, &stderr)
				}
			}
		})
	}
}
