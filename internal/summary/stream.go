package summary

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/relay"
)

// Stream is the summary stream of one gateway: a sampler and one worker
// per sink. Offer is called for every finished request.
type Stream struct {
	sampler Sampler
	ids     *IDSource
	workers []*worker
	m       *Metrics
	log     *slog.Logger
	now     func() time.Time

	cancel context.CancelFunc
	flush  context.Context // set by Close before workers are stopped
	mu     sync.Mutex
	wg     sync.WaitGroup
	closed bool
	// stopped is set when Close begins: a request still finishing after
	// that (past the shutdown deadline) goes straight to disk.
	stopped atomic.Bool
}

// Options build a Stream. Sinks, when set, replace the sinks the config
// names (same order and count), for tests and embedding.
type Options struct {
	Config   config.Summaries
	Log      *slog.Logger
	Registry prometheus.Registerer
	Sinks    []Sink
}

// New opens the disk buffers and connects the sinks (a broker that is down
// at start is retried in the background; records wait on disk). Nothing
// is sent until Start.
func New(o Options) (*Stream, error) {
	c := o.Config
	s := &Stream{ids: NewIDSource(), log: o.Log, now: time.Now,
		sampler: Sampler{Rate: 1, Chains: c.Chains, Slow: c.Slow.D()}}
	if c.Sample != nil {
		s.sampler.Rate = *c.Sample
	}
	s.m = NewMetrics(o.Registry)
	for i, sc := range c.Sinks {
		var sink Sink
		var err error
		if i < len(o.Sinks) {
			sink = o.Sinks[i]
		} else {
			sink, err = openSink(sc, o.Log)
		}
		if err == nil {
			var sp *spool
			sp, err = openSpool(filepath.Join(c.Buffer.Dir, sc.Name), c.Buffer.MaxBytes, c.Buffer.SegmentBytes)
			if err == nil {
				if n := sp.pending(); n > 0 {
					o.Log.Info("relay summaries waiting in the disk buffer from an earlier run", "sink", sc.Name, "records", n)
				}
				s.workers = append(s.workers, &worker{name: sc.Name, sink: sink, q: make(chan *entry, c.Queue), spool: sp,
					batch: c.Batch, ackTimeout: sc.AckTimeout.D(), m: s.m, log: o.Log, now: s.now,
					produced: s.m.Produced.WithLabelValues(sc.Name)})
				continue
			}
			sink.Close()
		}
		s.closeAll()
		return nil, fmt.Errorf("summaries sink %s: %w", sc.Name, err)
	}
	o.Registry.MustRegister(newGauges(s))
	return s, nil
}

func openSink(c *config.SummarySink, log *slog.Logger) (Sink, error) {
	switch c.Type {
	case config.SinkNATS:
		return NewNATS(c, log)
	case config.SinkKafka:
		return NewKafka(c)
	case config.SinkFile:
		return NewFile(c.Path, c.RotateBytes, c.Keep)
	}
	return nil, fmt.Errorf("unknown sink type %q", c.Type)
}

// Start runs the workers until Close.
func (s *Stream) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	for _, w := range s.workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			w.run(ctx, s.flushContext)
		}()
	}
}

func (s *Stream) flushContext() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flush == nil {
		return context.Background()
	}
	return s.flush
}

// Offer streams r if the sampler keeps it. It copies what it needs (r is
// reused once the caller returns) and never blocks: a full queue spills to
// the disk buffer. r's Duration must be set.
func (s *Stream) Offer(r *relay.Record) {
	if !s.sampler.Keep(r) {
		s.m.SampledOut.Inc()
		return
	}
	e := newEntry(s.ids.New(r.Start), r)
	if s.stopped.Load() {
		for _, w := range s.workers {
			w.produced.Inc()
			w.spill([]Msg{encode(e)})
		}
		return
	}
	for _, w := range s.workers {
		w.offer(e)
	}
}

// Close stops the workers: each sends what is queued within ctx (the
// rest of shutdown_timeout), puts what it could not send on disk, and
// the sinks are closed. Offer must not be called after Close.
func (s *Stream) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed, s.flush = true, ctx
	s.mu.Unlock()
	s.stopped.Store(true)
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	for _, w := range s.workers { // offered while the workers were stopping
		w.queueToDisk()
	}
	return s.closeAll()
}

func (s *Stream) closeAll() error {
	var errs []error
	for _, w := range s.workers {
		if err := w.sink.Close(); err != nil {
			errs = append(errs, err)
		}
		if err := w.spool.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
