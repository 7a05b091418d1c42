package summary

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
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
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096), jetstream.WithPublishAsyncTimeout(c.AckTimeout.D()))
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &NATS{nc: nc, js: js, cfg: *c, log: log}, nil
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

// Publish sends msgs asynchronously and waits for every ack.
func (n *NATS) Publish(ctx context.Context, msgs []Msg) error {
	if err := n.ensure(ctx); err != nil {
		return err
	}
	futs := make([]jetstream.PubAckFuture, 0, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		f, err := n.js.PublishAsync(Subject(n.cfg.Subject, m.Chain, m.Class), m.Data, jetstream.WithMsgID(m.ID))
		if err != nil {
			return err
		}
		futs = append(futs, f)
	}
	for _, f := range futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
				// The stream may have been deleted: check it again next time.
				n.mu.Lock()
				n.ensured = false
				n.mu.Unlock()
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Close drains nothing (unacknowledged records are on disk or will be
// re-sent) and closes the connection.
func (n *NATS) Close() error {
	n.nc.Close()
	return nil
}
