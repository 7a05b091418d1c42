package summary

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/natstest"
	"github.com/rpcgate/rpcgate/internal/relay"
)

func natsConfig(t testing.TB, url string, edit func(*config.Summaries)) config.Summaries {
	dir := ""
	if t != nil {
		dir = t.TempDir()
	}
	c := config.Summaries{Sinks: []*config.SummarySink{{Type: config.SinkNATS, URL: url, AckTimeout: config.Duration(time.Second)}},
		Buffer: config.SummaryBuffer{Dir: dir}}
	if edit != nil {
		edit(&c)
	}
	cfg := config.Config{Summaries: c}
	cfg.ApplyDefaults()
	return cfg.Summaries
}

func offerN(s *Stream, from, to int) {
	for i := from; i < to; i++ {
		r := testRecord("eth_getBalance")
		r.ID = fmt.Sprintf("req-%d", i)
		s.Offer(r)
		relay.Put(r)
	}
}

func distinct(t *testing.T, recs [][]byte) map[string]Record {
	t.Helper()
	out := map[string]Record{}
	for _, b := range recs {
		r, err := Decode(b)
		if err != nil {
			t.Fatalf("stream holds a non-record: %s", b)
		}
		out[r.ID] = r
	}
	return out
}

// Records go to <subject>.<chain>.<class> in a stream rpcgate created,
// each once, with the fields of the relay.
func TestNATSCreatesStreamAndPublishes(t *testing.T) {
	t.Parallel()
	for _, acks := range []string{config.AcksBatch, config.AcksEach} {
		t.Run(acks, func(t *testing.T) {
			t.Parallel()
			testNATSPublishes(t, acks)
		})
	}
}

func testNATSPublishes(t *testing.T, acks string) {
	srv := natstest.Start(t)
	cfg := natsConfig(t, srv.URL(), func(c *config.Summaries) { c.Sinks[0].Acks = acks; c.Batch = 7 })
	s, err := New(Options{Config: cfg, Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	offerN(s, 0, 100)
	waitFor(t, "100 acks", func() bool { return testutil.ToFloat64(s.m.Acked.WithLabelValues("nats")) >= 100 })
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := distinct(t, srv.Records(t, config.DefaultSummaryStream))
	if len(got) != 100 {
		t.Fatalf("%d distinct records, want 100", len(got))
	}
	for _, r := range got {
		if r.Chain != "eth" || r.Method != "eth_getBalance" || len(r.Attempts) != 2 || r.Attempts[1].Node != "b" {
			t.Fatalf("record %+v", r)
		}
	}
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(context.Background(), config.DefaultSummaryStream)
	if err != nil {
		t.Fatal(err)
	}
	if subj := st.CachedInfo().Config.Subjects; len(subj) != 1 || subj[0] != "rpcgate.relays.>" {
		t.Errorf("stream subjects %v", subj)
	}
	m, err := st.GetMsg(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "rpcgate.relays.eth.read" {
		t.Errorf("subject %q", m.Subject)
	}
}

// With a tiny disk limit and the broker down, what does not fit is
// dropped, and the drops metric is exactly produced − delivered once the
// broker is back; a warning was logged.
func TestNATSDiskLimitDropsAreCounted(t *testing.T) {
	t.Parallel()
	srv := natstest.New(t) // down from the start
	cfg := natsConfig(t, srv.URL(), func(c *config.Summaries) {
		c.Queue, c.Batch = 8, 4
		c.Buffer.MaxBytes, c.Buffer.SegmentBytes = 16<<10, 4096
	})
	logs := &syncBuf{}
	s, err := New(Options{Config: cfg, Log: slog.New(slog.NewTextHandler(logs, nil)), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	w := s.workers[0]
	offerN(s, 0, 500)
	produced := testutil.ToFloat64(s.m.Produced.WithLabelValues("nats"))
	if produced != 500 {
		t.Fatalf("produced %v", produced)
	}
	waitFor(t, "the queue on disk", func() bool { return len(w.q) == 0 })
	dropped := testutil.ToFloat64(s.m.Dropped.WithLabelValues("nats"))
	if dropped == 0 {
		t.Fatal("nothing dropped at a 16 KiB limit")
	}
	srv.Restart()
	waitFor(t, "the disk buffer drained", func() bool { return w.spool.pending() == 0 && len(w.q) == 0 && w.oldest.Load() == 0 })
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	delivered := len(distinct(t, srv.Records(t, config.DefaultSummaryStream)))
	dropped = testutil.ToFloat64(s.m.Dropped.WithLabelValues("nats"))
	if dropped != produced-float64(delivered) {
		t.Errorf("dropped %v, produced %v, delivered %d: want dropped = produced − delivered", dropped, produced, delivered)
	}
	if !strings.Contains(logs.String(), "relay summaries dropped") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
}
