package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRegistryDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "gw.yaml")
	base := "chains:\n  eth:\n    chain_id: 1\n    nodes: {a: {url: \"http://127.0.0.1:1\"}}\n    groups: {default: {nodes: [a]}}\n"
	if err := os.WriteFile(path, []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "gw.state.json"); cfg.Registry.File != want || cfg.Registry.Prefix != "rpcgate:" {
		t.Errorf("registry defaults file %q prefix %q, want %q and rpcgate:", cfg.Registry.File, cfg.Registry.Prefix, want)
	}
	// With Redis set, no state file is implied.
	withRedis := "registry:\n  redis: \"redis://127.0.0.1:6379/0\"\n" + base
	if err := os.WriteFile(path, []byte(withRedis), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err = Load(path); err != nil || cfg.Registry.File != "" {
		t.Errorf("redis config: file %q err %v", cfg.Registry.File, err)
	}
	_, err = Parse("bad.yaml", []byte("registry:\n  redis: \"http://x:1\"\n"+base), nil)
	ps, ok := AsProblems(err)
	if !ok || len(ps) != 1 || ps[0].Line != 2 || !strings.Contains(ps[0].Msg, "redis://") {
		t.Fatalf("bad redis URL: %v", err)
	}
}
