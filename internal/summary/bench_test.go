package summary

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rpcgate/rpcgate/internal/relay"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStreamNATSCPU is this process's CPU per record with a
// JetStream sink (request path and publisher), the server being a
// separate nats-server process (the Debian binary; skipped without it).
// It reports cpu-ns/record.
func BenchmarkStreamNATSCPU(b *testing.B) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		b.Skip("no nats-server binary")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", b.TempDir())
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for i := 0; i < 50; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	c := natsConfig(b, fmt.Sprintf("nats://127.0.0.1:%d", port), nil)
	s, err := New(Options{Config: c, Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	s.Start()
	defer s.Close(context.Background())
	r := testRecord("eth_call")
	defer relay.Put(r)
	acked := s.m.Acked.WithLabelValues("nats")
	// Warm up: the stream is created.
	s.Offer(r)
	for testutil.ToFloat64(acked) < 1 {
		time.Sleep(time.Millisecond)
	}
	b.ReportAllocs()
	c0 := cpuTime()
	n := 0
	for b.Loop() {
		s.Offer(r)
		n++
		if n%1000 == 0 {
			for testutil.ToFloat64(acked) < float64(n+1)-2000 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	for testutil.ToFloat64(acked) < float64(n+1) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(n), "cpu-ns/record")
}

type nopSink struct{}

func (nopSink) Publish(context.Context, []Msg) error { return nil }
func (nopSink) Close() error                         { return nil }

// BenchmarkStreamNopCPU is the stream's own CPU per record (copy, queue,
// encode, batch) with a sink that does nothing.
func BenchmarkStreamNopCPU(b *testing.B) {
	c := fileConfig(b.TempDir(), b.TempDir()+"/unused.jsonl")
	s, err := New(Options{Config: c, Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), Sinks: []Sink{nopSink{}}})
	if err != nil {
		b.Fatal(err)
	}
	s.Start()
	defer s.Close(context.Background())
	r := testRecord("eth_call")
	defer relay.Put(r)
	acked := s.m.Acked.WithLabelValues("file")
	b.ReportAllocs()
	c0 := cpuTime()
	n := 0
	for b.Loop() {
		s.Offer(r)
		n++
		if n%1000 == 0 {
			for testutil.ToFloat64(acked) < float64(n)-2000 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	for testutil.ToFloat64(acked) < float64(n) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(n), "cpu-ns/record")
}
