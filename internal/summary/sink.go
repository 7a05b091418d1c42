package summary

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Msg is one encoded record on its way to a sink.
type Msg struct {
	ID    string
	Chain string
	Class string // read, write, debug or batch
	Time  time.Time
	Data  []byte // the record's JSON, no newline
}

// Sink delivers records to one destination. Publish returns nil only once
// every message of the batch is acknowledged (stored by the broker, or
// written to the file); on error the whole batch is sent again later, so a
// consumer may see a record twice and de-duplicates on its id.
type Sink interface {
	Publish(ctx context.Context, msgs []Msg) error
	Close() error
}

// payload is a Msg as framed in the disk buffer:
// time (unix ns) \n id \n chain \n class \n JSON.
func (m *Msg) payload(b []byte) []byte {
	b = strconv.AppendInt(b, m.Time.UnixNano(), 10)
	b = append(b, '\n')
	b = append(b, m.ID...)
	b = append(b, '\n')
	b = append(b, m.Chain...)
	b = append(b, '\n')
	b = append(b, m.Class...)
	b = append(b, '\n')
	return append(b, m.Data...)
}

var errPayload = errors.New("malformed buffered record")

// parsePayload reads what payload wrote. The JSON is not checked here.
func parsePayload(p []byte) (Msg, error) {
	var parts [4][]byte
	rest := p
	for i := range parts {
		j := bytes.IndexByte(rest, '\n')
		if j < 0 {
			return Msg{}, errPayload
		}
		parts[i], rest = rest[:j], rest[j+1:]
	}
	ns, err := strconv.ParseInt(string(parts[0]), 10, 64)
	if err != nil || len(parts[1]) == 0 || len(rest) == 0 {
		return Msg{}, errPayload
	}
	return Msg{Time: time.Unix(0, ns), ID: string(parts[1]), Chain: string(parts[2]), Class: string(parts[3]), Data: rest}, nil
}

// encode turns an entry into a Msg.
func encode(e *entry) Msg {
	return Msg{ID: e.id.String(), Chain: e.chain, Class: e.class(), Time: e.start, Data: e.appendJSON(make([]byte, 0, 512))}
}

// worker moves one sink's records: from its queue (or its disk buffer)
// to the sink, in batches.
type worker struct {
	name       string
	sink       Sink
	q          chan *entry
	spool      *spool
	batch      int
	ackTimeout time.Duration
	m          *Metrics
	log        *slog.Logger
	now        func() time.Time

	oldest   atomic.Int64 // unix ns of the oldest unacknowledged record held, 0 when none
	produced prometheus.Counter
	linger   *time.Timer

	dropMu      sync.Mutex
	dropLogged  time.Time
	dropPending int64
}

// backoff bounds between retries while the broker fails.
const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 2 * time.Second
	// dropLogEvery rate-limits the warning about dropped records.
	dropLogEvery = 10 * time.Second
	// batchLinger is how long a worker waits for a batch to fill once it
	// has a record: fewer, fuller batches cost less CPU per record (one
	// publish round trip each) than one wake-up per record, and a record
	// arrives at most this much later.
	batchLinger = 5 * time.Millisecond
)

// offer queues e without blocking; a full queue spills to disk.
func (w *worker) offer(e *entry) {
	w.produced.Inc()
	select {
	case w.q <- e:
	default:
		w.spill([]Msg{encode(e)})
	}
}

// spill writes msgs to the disk buffer; what does not fit is dropped,
// counted and logged (rate-limited).
func (w *worker) spill(msgs []Msg) {
	if len(msgs) == 0 {
		return
	}
	ps := make([][]byte, len(msgs))
	for i := range msgs {
		ps[i] = msgs[i].payload(make([]byte, 0, len(msgs[i].Data)+64))
	}
	n, err := w.spool.append(ps)
	if n < len(msgs) {
		w.dropped(len(msgs)-n, err)
	}
}

func (w *worker) dropped(n int, err error) {
	w.m.Dropped.WithLabelValues(w.name).Add(float64(n))
	w.dropMu.Lock()
	w.dropPending += int64(n)
	now := w.now()
	if now.Sub(w.dropLogged) < dropLogEvery {
		w.dropMu.Unlock()
		return
	}
	count := w.dropPending
	w.dropPending, w.dropLogged = 0, now
	w.dropMu.Unlock()
	w.log.Warn("relay summaries dropped: disk buffer full or not writable", "sink", w.name, "dropped", count, "err", err)
}

func (w *worker) oldestAge(now time.Time) time.Duration {
	o := w.oldest.Load()
	if o == 0 {
		return 0
	}
	return max(0, now.Sub(time.Unix(0, o)))
}

// publish sends msgs with the ack timeout and counts the outcome.
func (w *worker) publish(ctx context.Context, msgs []Msg) error {
	if len(msgs) == 0 {
		return nil
	}
	if o := w.oldest.Load(); o == 0 || msgs[0].Time.UnixNano() < o {
		w.oldest.Store(msgs[0].Time.UnixNano())
	}
	ctx, cancel := context.WithTimeout(ctx, w.ackTimeout)
	defer cancel()
	if err := w.sink.Publish(ctx, msgs); err != nil {
		w.m.BrokerErrors.WithLabelValues(w.name).Inc()
		return err
	}
	w.m.Acked.WithLabelValues(w.name).Add(float64(len(msgs)))
	return nil
}

// run delivers until ctx ends, then flushes what is queued within flush
// (to the sink, else to disk).
func (w *worker) run(ctx context.Context, flush func() context.Context) {
	delay := backoffMin
	var failedLogged bool
	fail := func(err error) {
		if !failedLogged {
			w.log.Warn("relay summary sink failing; buffering on disk", "sink", w.name, "err", err)
			failedLogged = true
		}
		w.wait(ctx, delay)
		delay = min(2*delay, backoffMax)
	}
	ok := func() {
		if failedLogged {
			w.log.Info("relay summary sink recovered", "sink", w.name)
			failedLogged = false
		}
		delay = backoffMin
	}
	for ctx.Err() == nil {
		if w.spool.pending() > 0 {
			w.queueToDisk()
			ps, next, frames, err := w.spool.read(w.batch)
			if c := w.spool.takeCorrupt(); c > 0 {
				w.m.Corrupt.WithLabelValues(w.name).Add(float64(c))
				w.log.Warn("relay summary disk buffer: damaged records skipped", "sink", w.name, "stretches", c)
			}
			if err != nil {
				fail(err)
				continue
			}
			if frames == 0 {
				w.spool.forget()
				continue
			}
			msgs := make([]Msg, 0, len(ps))
			for _, p := range ps {
				m, err := parsePayload(p)
				if err != nil {
					w.m.Corrupt.WithLabelValues(w.name).Inc()
					continue
				}
				msgs = append(msgs, m)
			}
			if err := w.publish(ctx, msgs); err != nil {
				fail(err)
				continue
			}
			if err := w.spool.commit(next, frames); err != nil {
				w.log.Error("relay summary disk buffer: cannot save read position; records may be sent again", "sink", w.name, "err", err)
			}
			if w.spool.pending() == 0 && len(w.q) == 0 {
				w.oldest.Store(0)
			}
			ok()
			continue
		}
		var first *entry
		select {
		case first = <-w.q:
		case <-ctx.Done():
			continue
		}
		msgs := w.take(first, true)
		if err := w.publish(ctx, msgs); err != nil {
			w.spill(msgs)
			fail(err)
			continue
		}
		if len(w.q) == 0 {
			w.oldest.Store(0)
		}
		ok()
	}
	w.flush(flush())
}

// take is first plus what else is queued, up to a batch, encoded. With
// linger it waits up to batchLinger for the batch to fill.
func (w *worker) take(first *entry, linger bool) []Msg {
	msgs := make([]Msg, 0, w.batch)
	msgs = append(msgs, encode(first))
	var expired <-chan time.Time
	for len(msgs) < w.batch {
		select {
		case e := <-w.q:
			msgs = append(msgs, encode(e))
			continue
		default:
		}
		if !linger {
			return msgs
		}
		if expired == nil {
			if w.linger == nil {
				w.linger = time.NewTimer(batchLinger)
			} else {
				w.linger.Reset(batchLinger)
			}
			expired = w.linger.C
		}
		select {
		case e := <-w.q:
			msgs = append(msgs, encode(e))
		case <-expired:
			return msgs
		}
	}
	if expired != nil {
		w.linger.Stop()
	}
	return msgs
}

// queueToDisk moves what is queued to the disk buffer, behind what is
// there, so records leave in the order they came.
func (w *worker) queueToDisk() {
	for len(w.q) > 0 {
		select {
		case e := <-w.q:
			w.spill(w.take(e, false))
		default:
			return
		}
	}
}

// wait sleeps d, moving queued records to disk meanwhile (the sink is
// failing, so they would only fill the queue).
func (w *worker) wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case e := <-w.q:
			w.spill(w.take(e, false))
		}
	}
}

// flush sends what is queued, within ctx; what cannot be sent goes to
// disk. With records already on disk, the queue goes behind them.
func (w *worker) flush(ctx context.Context) {
	if w.spool.pending() > 0 {
		w.queueToDisk()
		return
	}
	for len(w.q) > 0 {
		e := <-w.q
		msgs := w.take(e, false)
		if ctx.Err() != nil || w.publish(ctx, msgs) != nil {
			w.spill(msgs)
			w.queueToDisk()
			return
		}
	}
}
