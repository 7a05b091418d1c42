package summary

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Query is what `rpcgate summaries` reads: exactly one source, a time
// window, and how to print.
type Query struct {
	File           string   // a JSON-lines file written by the file sink
	NATS, Stream   string   // a JetStream server and stream
	Kafka          []string // Kafka seed brokers
	Topic          string
	Since, Until   time.Time // zero: unbounded
	JSON           bool
	Follow         bool
	FollowInterval time.Duration // how often --follow prints; default 5s
	// Idle ends a read of Kafka or NATS once nothing arrived for this
	// long (without --follow). Default 2s.
	Idle time.Duration
}

// Source is where records come from: fn gets each one's JSON.
type Source func(ctx context.Context, follow bool, fn func([]byte)) error

// source picks the source the query names.
func (q *Query) source() (Source, error) {
	n := 0
	for _, set := range []bool{q.File != "", q.NATS != "", len(q.Kafka) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("give exactly one of --file, --nats or --kafka")
	}
	idle := q.Idle
	if idle <= 0 {
		idle = 2 * time.Second
	}
	switch {
	case q.File != "":
		return FileSource(q.File), nil
	case q.NATS != "":
		if q.Stream == "" {
			return nil, errors.New("--nats needs --stream")
		}
		return NATSSource(q.NATS, q.Stream, q.Since, idle), nil
	default:
		if q.Topic == "" {
			return nil, errors.New("--kafka needs --topic")
		}
		return KafkaSource(q.Kafka, q.Topic, q.Since, idle), nil
	}
}

// Run reads the query's source and prints the report to w: once, or with
// Follow every FollowInterval until ctx ends.
func Run(ctx context.Context, q Query, w io.Writer) error {
	src, err := q.source()
	if err != nil {
		return err
	}
	var mu sync.Mutex
	agg := &Aggregator{Since: q.Since, Until: q.Until}
	add := func(b []byte) {
		mu.Lock()
		agg.AddJSON(b)
		mu.Unlock()
	}
	print := func() error {
		mu.Lock()
		r := agg.Report()
		mu.Unlock()
		if q.JSON {
			return r.WriteJSON(w)
		}
		return r.WriteTable(w)
	}
	if !q.Follow {
		if err := src(ctx, false, add); err != nil {
			return err
		}
		return print()
	}
	every := q.FollowInterval
	if every <= 0 {
		every = 5 * time.Second
	}
	done := make(chan error, 1)
	go func() { done <- src(ctx, true, add) }()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := print(); err != nil {
				return err
			}
		case err := <-done:
			if err != nil && ctx.Err() == nil {
				return err
			}
			return print()
		}
	}
}

// FileSource reads a JSON-lines file; with follow it keeps reading what
// is appended until ctx ends.
func FileSource(path string) Source {
	return func(ctx context.Context, follow bool, fn func([]byte)) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r := bufio.NewReaderSize(f, 64<<10)
		var line []byte
		for {
			chunk, err := r.ReadSlice('\n')
			line = append(line, chunk...)
			switch {
			case err == nil:
				if len(line) > 1 {
					fn(line[:len(line)-1])
				}
				line = line[:0]
			case errors.Is(err, bufio.ErrBufferFull):
				if len(line) > maxFrame {
					line = line[:0] // not a record; skip to the next line
					for errors.Is(err, bufio.ErrBufferFull) {
						_, err = r.ReadSlice('\n')
					}
					fn([]byte("{}")) // count it as skipped
				}
			case errors.Is(err, io.EOF):
				if !follow {
					if len(line) > 0 {
						fn(line)
					}
					return nil
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(250 * time.Millisecond):
				}
			default:
				return err
			}
		}
	}
}

// NATSSource reads a JetStream stream from since (or its start) with an
// ordered consumer, until it has caught up (or, with follow, until ctx
// ends).
func NATSSource(url, stream string, since time.Time, idle time.Duration) Source {
	return func(ctx context.Context, follow bool, fn func([]byte)) error {
		nc, err := nats.Connect(url, nats.Name("rpcgate summaries reader"))
		if err != nil {
			return fmt.Errorf("nats: %w", err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
		if !since.IsZero() {
			cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
		}
		cons, err := js.OrderedConsumer(ctx, stream, cfg)
		if err != nil {
			return fmt.Errorf("stream %s: %w", stream, err)
		}
		for ctx.Err() == nil {
			fctx, cancel := context.WithTimeout(ctx, idle)
			var batch jetstream.MessageBatch
			if follow {
				batch, err = cons.Fetch(512, jetstream.FetchContext(fctx))
			} else {
				batch, err = cons.FetchNoWait(512) // what is there now; the stream is read to its end
			}
			if err != nil {
				cancel()
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			got, caughtUp := 0, false
			for m := range batch.Messages() {
				got++
				fn(m.Data())
				if md, err := m.Metadata(); err == nil && md.NumPending == 0 {
					caughtUp = true
				}
			}
			cancel()
			if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				return err
			}
			if !follow && (caughtUp || got == 0) {
				return nil
			}
		}
		return nil
	}
}

// KafkaSource reads a topic from since (or its start) until nothing new
// arrived for idle (or, with follow, until ctx ends).
func KafkaSource(brokers []string, topic string, since time.Time, idle time.Duration) Source {
	return func(ctx context.Context, follow bool, fn func([]byte)) error {
		off := kgo.NewOffset().AtStart()
		if !since.IsZero() {
			off = kgo.NewOffset().AfterMilli(since.UnixMilli())
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(off),
			kgo.ClientID("rpcgate-summaries-reader"))
		if err != nil {
			return err
		}
		defer cl.Close()
		for ctx.Err() == nil {
			pctx, cancel := context.WithTimeout(ctx, idle)
			fs := cl.PollFetches(pctx)
			cancel()
			n := 0
			fs.EachRecord(func(r *kgo.Record) {
				n++
				fn(r.Value)
			})
			for _, e := range fs.Errors() {
				if !errors.Is(e.Err, context.DeadlineExceeded) && !errors.Is(e.Err, context.Canceled) {
					return fmt.Errorf("kafka %s: %w", e.Topic, e.Err)
				}
			}
			if n == 0 && !follow {
				return nil
			}
		}
		return nil
	}
}
