package summary

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rpcgate/rpcgate/internal/config"
)

func testMsg(i int) Msg {
	id := fmt.Sprintf("ID%024d", i)
	return Msg{ID: id, Chain: "eth", Class: "read", Time: time.Unix(1700000000, int64(i)),
		Data: []byte(fmt.Sprintf(`{"v":1,"id":%q,"time":"2026-12-01T03:00:00Z","chain":"eth","method":"eth_call","outcome":"ok","latency_ms":1,"bytes":1,"attempts":[{"node":"a","latency_ms":1,"outcome":"ok"}]}`, id))}
}

func payloads(from, to int) [][]byte {
	var ps [][]byte
	for i := from; i < to; i++ {
		m := testMsg(i)
		ps = append(ps, m.payload(nil))
	}
	return ps
}

// Records read back in order across segment boundaries, and the read
// position survives a reopen (a restart).
func TestSpoolOrderAcrossSegmentsAndRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sp, err := openSpool(dir, 1<<20, 4096)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i += 10 {
		if n, err := sp.append(payloads(i, i+10)); n != 10 || err != nil {
			t.Fatalf("append: %d %v", n, err)
		}
	}
	if len(sp.segs) < 3 {
		t.Fatalf("want several segments, got %d", len(sp.segs))
	}
	ps, next, frames, err := sp.read(30)
	if err != nil || len(ps) != 30 || frames != 30 {
		t.Fatalf("read: %d %d %v", len(ps), frames, err)
	}
	if err := sp.commit(next, frames); err != nil {
		t.Fatal(err)
	}
	sp.close()

	sp, err = openSpool(dir, 1<<20, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	if n := sp.pending(); n != 70 {
		t.Fatalf("pending after reopen %d, want 70", n)
	}
	for i := 30; i < 100; {
		ps, next, frames, err := sp.read(7)
		if err != nil || len(ps) == 0 {
			t.Fatalf("read at %d: %v", i, err)
		}
		for _, p := range ps {
			m, err := parsePayload(p)
			if err != nil || m.ID != testMsg(i).ID {
				t.Fatalf("record %d: got %s (%v)", i, m.ID, err)
			}
			i++
		}
		if err := sp.commit(next, frames); err != nil {
			t.Fatal(err)
		}
	}
	if b, r := sp.size(); b != 0 || r != 0 {
		t.Errorf("drained buffer holds %d bytes, %d records", b, r)
	}
}

func TestSpoolDiskLimit(t *testing.T) {
	t.Parallel()
	sp, err := openSpool(t.TempDir(), 2000, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	n, err := sp.append(payloads(0, 50))
	if err != errFull || n == 0 || n == 50 {
		t.Fatalf("append at limit: %d, %v", n, err)
	}
	if b, _ := sp.size(); b > 2000 {
		t.Errorf("buffer %d bytes over its 2000-byte limit", b)
	}
}

// syncBuf is a concurrency-safe log sink.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func fileConfig(dir, path string) config.Summaries {
	c := config.Summaries{Sinks: []*config.SummarySink{{Type: config.SinkFile, Path: path}},
		Buffer: config.SummaryBuffer{Dir: dir}}
	cfg := config.Config{Summaries: c}
	cfg.ApplyDefaults()
	return cfg.Summaries
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A segment with flipped bytes in one record: the checksum catches it,
// that record is skipped and counted, every other one is delivered, in
// order, after a restart.
func TestCorruptedSegmentSkipsOnlyTheBadRecord(t *testing.T) {
	t.Parallel()
	dir, out := t.TempDir(), filepath.Join(t.TempDir(), "relays.jsonl")
	cfg := fileConfig(dir, out)
	sp, err := openSpool(filepath.Join(dir, "file"), cfg.Buffer.MaxBytes, cfg.Buffer.SegmentBytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sp.append(payloads(0, 20)); err != nil {
		t.Fatal(err)
	}
	seg := sp.segPath(sp.segs[0])
	sp.close()
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	bad := testMsg(7).ID
	i := bytes.Index(data, []byte(`"`+bad+`"`))
	data[i+5] ^= 0xff
	data[i+6] ^= 0x55
	if err := os.WriteFile(seg, data, 0o600); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	logs := &syncBuf{}
	s, err := New(Options{Config: cfg, Log: slog.New(slog.NewTextHandler(logs, nil)), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	waitFor(t, "19 records in the file", func() bool { return len(lines(t, out)) >= 19 })
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := lines(t, out)
	if len(got) != 19 {
		t.Fatalf("file has %d records, want 19", len(got))
	}
	j := 0
	for k := 0; k < 20; k++ {
		if k == 7 {
			continue
		}
		r, err := Decode([]byte(got[j]))
		if err != nil || r.ID != testMsg(k).ID {
			t.Fatalf("line %d: %s (%v), want %s", j, r.ID, err, testMsg(k).ID)
		}
		j++
	}
	if c := testutil.ToFloat64(s.m.Corrupt.WithLabelValues("file")); c != 1 {
		t.Errorf("corrupt counter %v, want 1", c)
	}
	if !strings.Contains(logs.String(), "damaged records skipped") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
}

// Close (SIGTERM) sends what is queued before it returns.
func TestCloseFlushesTheQueueToTheSink(t *testing.T) {
	t.Parallel()
	dir, out := t.TempDir(), filepath.Join(t.TempDir(), "relays.jsonl")
	s, err := New(Options{Config: fileConfig(dir, out), Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	offerN(s, 0, 3000)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(lines(t, out)); n != 3000 {
		t.Errorf("%d records in the file after Close, want 3000", n)
	}
}

// failSink is a broker that is down.
type failSink struct{}

func (failSink) Publish(context.Context, []Msg) error { return fmt.Errorf("broker down") }
func (failSink) Close() error                         { return nil }

// Close with the broker down puts the queue on disk; a record offered
// after Close goes to disk too; a new Stream finds them all.
func TestCloseWithBrokerDownKeepsRecordsOnDisk(t *testing.T) {
	t.Parallel()
	dir, out := t.TempDir(), filepath.Join(t.TempDir(), "relays.jsonl")
	cfg := fileConfig(dir, out)
	s, err := New(Options{Config: cfg, Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), Sinks: []Sink{failSink{}}})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	offerN(s, 0, 500)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	offerN(s, 500, 501)
	s2, err := New(Options{Config: cfg, Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if n := s2.workers[0].spool.pending(); n != 501 {
		t.Fatalf("%d records on disk after Close, want 501", n)
	}
	s2.Start()
	waitFor(t, "501 records in the file", func() bool { return len(lines(t, out)) >= 501 })
	if err := s2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(lines(t, out)); n != 501 {
		t.Errorf("%d records in the file, want 501", n)
	}
}
