package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// The command-line contract against s3://bucket/prefix, configured the
// usual way (AWS_* variables, an endpoint override), through a real S3
// protocol server in process.
func TestSnapshotCommandsAgainstS3(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("snaps"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)

	tmp := t.TempDir()
	data, out, key := filepath.Join(tmp, "data"), filepath.Join(tmp, "out"), filepath.Join(tmp, "key")
	os.MkdirAll(filepath.Join(data, "db"), 0o755)
	os.WriteFile(filepath.Join(data, "db", "a.ldb"), bytes.Repeat([]byte("chain data "), 50000), 0o644)
	os.WriteFile(filepath.Join(data, "nodekey"), []byte("secret"), 0o600)
	sh := func(want int, args ...string) map[string]any {
		t.Helper()
		var o, e bytes.Buffer
		if code := run(args, &o, &e); code != want {
			t.Fatalf("%s: exit %d, want %d: %s", strings.Join(args, " "), code, want, e.String())
		}
		var sum map[string]any
		if want == 0 {
			if err := json.Unmarshal(o.Bytes(), &sum); err != nil {
				t.Fatalf("%s: output %q", strings.Join(args, " "), o.String())
			}
		}
		return sum
	}
	sh(0, "snapshot", "keygen", "--out", key)
	c := sh(0, "snapshot", "create", "--data", data, "--out", "s3://snaps/eth/v1", "--key", key, "--chain", "eth", "--chain-id", "1337",
		"--block", "300", "--block-hash", "0xabc", "--exclude", "nodekey", "--chunk-size", "64KiB")
	if c["chunks"].(float64) < 8 {
		t.Fatalf("create: %v", c)
	}
	f := sh(0, "snapshot", "fetch", "--from", "s3://snaps/eth/v1", "--data", out, "--pubkey", key+".pub")
	if f["block"].(float64) != 300 || f["installed"] != true {
		t.Fatalf("fetch: %v", f)
	}
	got, _ := os.ReadFile(filepath.Join(out, "db", "a.ldb"))
	want, _ := os.ReadFile(filepath.Join(data, "db", "a.ldb"))
	if !bytes.Equal(got, want) {
		t.Fatal("fetched bytes differ")
	}
	if _, err := os.Stat(filepath.Join(out, "nodekey")); !os.IsNotExist(err) {
		t.Fatal("an excluded file was published")
	}
	sh(1, "snapshot", "fetch", "--from", "s3://snaps/eth/v1", "--data", out, "--pubkey", key+".pub") // not empty, no --force
	sh(0, "snapshot", "fetch", "--from", "s3://snaps/eth/v1", "--data", out, "--pubkey", key+".pub", "--verify-only")
	p := sh(0, "snapshot", "prune", "--dest", "s3://snaps/eth/v1", "--keep", "1")
	if p["removed_manifests"].(float64) != 0 {
		t.Fatalf("prune: %v", p)
	}
	sh(2, "snapshot", "prune", "--dest", "s3://snaps/eth/v1", "--keep", "0")
}
