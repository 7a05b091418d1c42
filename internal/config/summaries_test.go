package config

import (
	"os"
	"path/filepath"
	"testing"
)

func summariesDoc(lines ...string) []byte {
	base := []string{
		"chains:",
		"  eth:",
		"    chain_id: 1",
		"    nodes: {a: {url: \"http://127.0.0.1:1\"}}",
		"    groups: {default: {nodes: [a]}}",
	}
	return yamlLines(append(base, lines...)...)
}

// Every summaries problem is placed at its line with a hint.
func TestSummariesValidation(t *testing.T) {
	t.Parallel()
	ps := parseProblems(t, summariesDoc(
		"summaries:", // 6
		"  sample: 1.5",
		"  chains: {base: 0.1}",
		"  sinks:",
		"    - {type: natz}", // 10
		"    - {type: kafka}",
		"    - {type: file}",
		"    - {type: nats, url: \"http://x\", subject: \"a.*\", acks: some}",
		"    - {type: file, name: f, path: x}",
		"    - {type: file, name: f, path: y}", // 15
	), nil)
	checkProblems(t, ps,
		wantProblem{line: 7, msg: []string{"between 0 and 1"}},
		wantProblem{line: 8, msg: []string{`chain "base"`}},
		wantProblem{line: 10, msg: []string{`"natz"`}, hint: []string{`did you mean "nats"?`}},
		wantProblem{line: 11, msg: []string{"no brokers"}},
		wantProblem{line: 12, msg: []string{"no path"}},
		wantProblem{line: 13, msg: []string{"not a nats://"}},
		wantProblem{line: 13, msg: []string{"NATS subject"}},
		wantProblem{line: 13, msg: []string{`acks "some"`}},
		wantProblem{line: 15, msg: []string{`"f" is used twice`}},
	)
}

// The canonical example (examples/summaries.yaml) loads, with its sinks
// named and defaulted.
func TestSummariesExample(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(examplesDir, "summaries.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("summaries.yaml", data, envOf("RPCGATE_ADMIN_TOKEN", "t"))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Summaries
	if !s.Enabled() || *s.Sample != 1 || s.Buffer.Dir != "./summaries-buffer" || s.Buffer.MaxBytes != 1<<30 || len(s.Sinks) != 2 {
		t.Fatalf("summaries %+v", s)
	}
	n, f := s.Sinks[0], s.Sinks[1]
	if n.Name != "nats" || n.Stream != "RPCGATE_RELAYS" || n.Subject != "rpcgate.relays" || n.Acks != AcksBatch || n.AckTimeout.D() != DefaultSummaryAckTimeout {
		t.Errorf("nats sink %+v", n)
	}
	if f.Name != "file" || f.Path != "./relays.jsonl" || f.RotateBytes != DefaultSummaryRotateBytes || f.Keep != DefaultSummaryKeep {
		t.Errorf("file sink %+v", f)
	}
	if s.Queue != DefaultSummaryQueue || s.Batch != DefaultSummaryBatch || s.Slow.D() != DefaultSummarySlow {
		t.Errorf("defaults %+v", s)
	}
}
