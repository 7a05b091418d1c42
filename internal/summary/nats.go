package summary

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rpcgate/rpcgate/internal/config"
)

// NATS publishes to a JetStream stream, created if missing. A record goes
// to <subject>.<chain>.<class> with its id as Nats-Msg-Id, so JetStream
// drops a re-send within the stream's duplicate window.
type NATS struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	cfg     config.SummarySink
	log     *slog.Logger
	mu      sync.Mutex
	ensured bool
	// failed counts asynchronous publish errors (the error handler runs
	// on the client's goroutine); a batch failed when it moved.
	failed atomic.Int64
}

var _ Sink = (*NATS)(nil)

// NewNATS connects to c.URL. A server that is down is retried forever in
// the background; until then Publish fails and records wait on disk.
// While disconnected nothing is buffered in the client (Publish fails at
// once), so the disk buffer is the only buffer.
func NewNATS(c *config.SummarySink, log *slog.Logger) (*NATS, error) {
	nc, err := nats.Connect(c.URL, nats.Name("rpcgate summaries"), nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond), nats.RetryOnFailedConnect(true), nats.ReconnectBufSize(-1),
		nats.ConnectHandler(func(*nats.Conn) { log.Info("relay summaries: connected to NATS", "sink", c.Name) }),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("relay summaries: reconnected to NATS", "sink", c.Name) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("relay summaries: disconnected from NATS", "sink", c.Name, "err", err)
			}
		}))
	if err != nil {
		return nil, fmt.Errorf("nats connect: %w", err)
	}
	n := &NATS{nc: nc, cfg: *c, log: log}
	// No per-message ack timer: the worker bounds the wait for a batch,
	// and the client fails pending acks itself on a reconnect.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(8192),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, _ *nats.Msg, err error) {
			n.failed.Add(1)
			if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
				n.mu.Lock()
				n.ensured = false // the stream may have been deleted: check it again
				n.mu.Unlock()
			}
		}))
	if err != nil {
		nc.Close()
		return nil, err
	}
	n.js = js
	return n, nil
}

// ensure creates the stream when it does not exist; an existing stream
// is left as it is (its limits are the operator's).
func (n *NATS) ensure(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ensured {
		return nil
	}
	_, err := n.js.Stream(ctx, n.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		sc := jetstream.StreamConfig{Name: n.cfg.Stream, Subjects: []string{n.cfg.Subject + ".>"},
			Storage: jetstream.FileStorage, MaxAge: n.cfg.MaxAge.D(), MaxBytes: -1, MaxMsgs: -1,
			Duplicates: 2 * time.Minute, Description: "rpcgate relay summaries"}
		if n.cfg.MaxBytes > 0 {
			sc.MaxBytes = n.cfg.MaxBytes
		}
		if n.cfg.MaxMsgs > 0 {
			sc.MaxMsgs = n.cfg.MaxMsgs
		}
		_, err = n.js.CreateStream(ctx, sc)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil
		}
		if err == nil {
			n.log.Info("relay summaries: created JetStream stream", "sink", n.cfg.Name, "stream", n.cfg.Stream, "subjects", sc.Subjects)
		}
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", n.cfg.Stream, err)
	}
	n.ensured = true
	return nil
}

// Subject is where a record of chain and class is published.
func Subject(prefix, chain, class string) string {
	return prefix + "." + subjectToken(chain) + "." + class
}

// subjectToken makes a chain name one subject token ("_" when empty).
func subjectToken(s string) string {
	if s == "" {
		return "_"
	}
	if !strings.ContainsAny(s, ". *>\t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', ' ', '*', '>', '\t', '\r', '\n':
			return '_'
		}
		return r
	}, s)
}

// Publish sends msgs and returns once JetStream acknowledged them. With
// acks "batch" (the default) every message but the last is published
// without asking for an ack, and the last one with: JetStream handles a
// connection's messages to a stream in order, so its ack means the
// batch was received, and a dropped connection means no ack and a
// re-send. With acks "each" every message is published asynchronously
// with its own ack, all awaited. One sink is used by one worker, so the
// outstanding publishes are this batch's.
func (n *NATS) Publish(ctx context.Context, msgs []Msg) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := n.ensure(ctx); err != nil {
		return err
	}
	if n.cfg.Acks == config.AcksEach {
		return n.publishEach(ctx, msgs)
	}
	last := len(msgs) - 1
	for i := range msgs[:last] {
		m := &msgs[i]
		nm := &nats.Msg{Subject: Subject(n.cfg.Subject, m.Chain, m.Class), Data: m.Data,
			Header: nats.Header{jetstream.MsgIDHeader: []string{m.ID}}}
		if err := n.nc.PublishMsg(nm); err != nil {
			return err
		}
	}
	m := &msgs[last]
	_, err := n.js.Publish(ctx, Subject(n.cfg.Subject, m.Chain, m.Class), m.Data, jetstream.WithMsgID(m.ID))
	return err
}

func (n *NATS) publishEach(ctx context.Context, msgs []Msg) error {
	failed := n.failed.Load()
	for i := range msgs {
		m := &msgs[i]
		if _, err := n.js.PublishAsync(Subject(n.cfg.Subject, m.Chain, m.Class), m.Data, jetstream.WithMsgID(m.ID)); err != nil {
			return err
		}
	}
	select {
	case <-n.js.PublishAsyncComplete():
	case <-ctx.Done():
		return ctx.Err()
	}
	if n.failed.Load() != failed {
		return errAcks
	}
	return nil
}

var errAcks = errors.New("JetStream did not acknowledge every message")

// Close drains nothing (unacknowledged records are on disk or will be
// re-sent) and closes the connection.
func (n *NATS) Close() error {
	n.nc.Close()
	return nil
}
