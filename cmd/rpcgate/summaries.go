package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rpcgate/rpcgate/internal/summary"
)

func runSummaries(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("summaries", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var q summary.Query
	var kafka, since, until string
	fs.StringVar(&q.File, "file", "", "read a JSON-lines file written by a file sink")
	fs.StringVar(&q.NATS, "nats", "", "read a JetStream stream on this NATS server (nats://host:port)")
	fs.StringVar(&q.Stream, "stream", "", "the JetStream stream (with --nats)")
	fs.StringVar(&kafka, "kafka", "", "read a Kafka topic from these seed brokers (host:port,host:port)")
	fs.StringVar(&q.Topic, "topic", "", "the Kafka topic (with --kafka)")
	fs.StringVar(&since, "since", "", "only records at or after this: a duration back from now (1h) or an RFC 3339 time")
	fs.StringVar(&until, "until", "", "only records before this: a duration back from now or an RFC 3339 time")
	fs.BoolVar(&q.JSON, "json", false, "print one JSON object instead of tables")
	fs.BoolVar(&q.Follow, "follow", false, "keep reading and print again every --interval")
	fs.DurationVar(&q.FollowInterval, "interval", 5*time.Second, "how often --follow prints")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	now := time.Now()
	var err error
	if q.Since, err = parseWhen(since, now); err != nil {
		fmt.Fprintln(stderr, "rpcgate summaries: --since:", err)
		return 2
	}
	if q.Until, err = parseWhen(until, now); err != nil {
		fmt.Fprintln(stderr, "rpcgate summaries: --until:", err)
		return 2
	}
	if kafka != "" {
		q.Kafka = strings.Split(kafka, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := summary.Run(ctx, q, stdout); err != nil {
		fmt.Fprintln(stderr, "rpcgate summaries:", err)
		return 1
	}
	return 0
}

// parseWhen reads "" (unbounded), a duration back from now, or RFC 3339.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration (1h) nor an RFC 3339 time", s)
	}
	return t, nil
}
