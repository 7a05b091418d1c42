package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/rpcgate/rpcgate/internal/summary"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "summaries", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// `rpcgate summaries --file F --json` on known records: the numbers
// per node and per method (a duplicate counted once, a bad line skipped),
// and the exact bytes of both outputs against golden files.
func TestSummariesCommandGolden(t *testing.T) {
	t.Parallel()
	file := filepath.Join("testdata", "summaries", "relays.jsonl")
	var out, errb bytes.Buffer
	if code := run([]string{"summaries", "--file", file, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	golden(t, "report.json", out.Bytes())
	var r summary.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Relays != 7 || r.Duplicates != 1 || r.Skipped != 1 {
		t.Errorf("relays %d duplicates %d skipped %d, want 7 1 1", r.Relays, r.Duplicates, r.Skipped)
	}
	wantNodes := []summary.NodeStats{
		{Chain: "base", Name: "a", Relays: 1, P50MS: 1, P99MS: 1},
		{Chain: "eth", Name: "a", Relays: 4, Errors: 1, ErrorRate: 0.25, P50MS: 9, P99MS: 50},
		{Chain: "eth", Name: "b", Relays: 3, Errors: 1, ErrorRate: 0.3333, P50MS: 39, P99MS: 49},
	}
	if len(r.Nodes) != len(wantNodes) {
		t.Fatalf("nodes %+v", r.Nodes)
	}
	for i, n := range wantNodes {
		if r.Nodes[i] != n {
			t.Errorf("node row %d: %+v, want %+v", i, r.Nodes[i], n)
		}
	}
	wantMethods := []summary.MethodStats{
		{Name: "eth_call", Count: 3, P50MS: 20, P99MS: 30, Errors: 1},
		{Name: "eth_getLogs", Count: 2, P50MS: 40, P99MS: 100, Errors: 1},
		{Name: "batch", Count: 1, P50MS: 5, P99MS: 5},
		{Name: "eth_blockNumber", Count: 1, P50MS: 2, P99MS: 2},
	}
	if len(r.Methods) != len(wantMethods) {
		t.Fatalf("methods %+v", r.Methods)
	}
	for i, m := range wantMethods {
		if r.Methods[i] != m {
			t.Errorf("method row %d: %+v, want %+v", i, r.Methods[i], m)
		}
	}

	out.Reset()
	if code := run([]string{"summaries", "--file", file}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	golden(t, "report.txt", out.Bytes())
}

func TestSummariesCommandNeedsOneSource(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"summaries"}, {"summaries", "--file", "x", "--nats", "nats://127.0.0.1:1", "--stream", "S"}, {"summaries", "--kafka", "127.0.0.1:1"}, {"summaries", "--file", "x", "--since", "yesterday"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code == 0 || errb.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}
