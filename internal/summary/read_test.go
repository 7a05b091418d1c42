package summary

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/natstest"
)

// Run reads a JetStream stream back: every record once.
func TestRunReadsNATS(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	s, err := New(Options{Config: natsConfig(t, srv.URL(), nil), Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	offerN(s, 0, 1200)
	waitFor(t, "1200 acks", func() bool { return testutil.ToFloat64(s.m.Acked.WithLabelValues("nats")) >= 1200 })
	s.Close(context.Background())
	var out bytes.Buffer
	if err := Run(context.Background(), Query{NATS: srv.URL(), Stream: config.DefaultSummaryStream, JSON: true}, &out); err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Relays != 1200 || len(r.Methods) != 1 || r.Methods[0].Count != 1200 {
		t.Errorf("report %+v", r)
	}
}

// --follow keeps reading a file as it grows and prints again: a record
// appended after the start shows up in a later report.
func TestRunFollowsAFile(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/relays.jsonl"
	f, err := NewFile(path, 1<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Publish(context.Background(), []Msg{testMsg(1)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuf{}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Query{File: path, JSON: true, Follow: true, FollowInterval: 50 * time.Millisecond}, out)
	}()
	waitFor(t, "a report with 1 relay", func() bool { return bytes.Contains([]byte(out.String()), []byte(`"relays":1,`)) })
	if err := f.Publish(context.Background(), []Msg{testMsg(2), testMsg(3)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a report with 3 relays", func() bool { return bytes.Contains([]byte(out.String()), []byte(`"relays":3,`)) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
