package store

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// Writer follows a node's finalized block and writes each new block into
// the store. Only the writer holding the store's advisory lock writes;
// the others wait for it and take over when its session ends.
type Writer struct {
	Store  *Store
	Source *Source
	// Depth is the finality depth used when the node has no "finalized"
	// tag.
	Depth uint64
	// Every is how often the finalized block is polled and the lock
	// retried. Default 1s.
	Every time.Duration
	// Start is the first block written to an empty store.
	Start uint64
	Log   *slog.Logger
	// OnWrite is called after each block written (metrics, tests).
	OnWrite func(n uint64)
	// Lag, when set, gets finalized − highest stored after each round.
	Lag interface{ Set(float64) }
	// LeaderGauge, when set, is 1 while this writer holds the lock.
	LeaderGauge interface{ Set(float64) }

	leader  atomic.Bool
	written atomic.Uint64
}

// Leader reports whether this writer holds the lock.
func (w *Writer) Leader() bool { return w.leader.Load() }

// Written is how many blocks this writer has stored.
func (w *Writer) Written() uint64 { return w.written.Load() }

// Run writes until ctx ends.
func (w *Writer) Run(ctx context.Context) {
	every := w.Every
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := w.lead(ctx, t.C); err != nil && ctx.Err() == nil && w.Log != nil {
			w.Log.Warn("store writer", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// lead takes the lock on a dedicated connection and writes while it is
// held. The lock is tied to the session: if this process dies, the server
// drops it and another writer gets it on its next try.
func (w *Writer) lead(ctx context.Context, tick <-chan time.Time) error {
	conn, err := w.Store.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext(current_schema()))`, int32(writerLockKey&0x7fffffff)).Scan(&got); err != nil {
		return err
	}
	if !got {
		return nil
	}
	w.setLeader(true)
	defer func() {
		w.setLeader(false)
		conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, int32(writerLockKey&0x7fffffff)) //nolint:errcheck
	}()
	if _, err := w.Store.Migrate(ctx); err != nil {
		return err
	}
	for {
		if err := w.catchUp(ctx); err != nil {
			return err
		}
		// The lock's session must still be alive; if the connection broke,
		// another writer may hold the lock now.
		if err := conn.Ping(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
		}
	}
}

// catchUp writes every block from the store's top + 1 up to finalized.
func (w *Writer) catchUp(ctx context.Context) error {
	fin, err := w.Source.Finalized(ctx, w.Depth)
	if errors.Is(err, errNothingFinal) {
		return nil
	}
	if err != nil {
		return err
	}
	top, ok, err := w.Store.Top(ctx)
	if err != nil {
		return err
	}
	next := w.Start
	if ok {
		next = top + 1
	}
	defer func() {
		if w.Lag != nil {
			if top, ok, err := w.Store.Top(context.WithoutCancel(ctx)); err == nil && ok && fin >= top {
				w.Lag.Set(float64(fin - top))
			}
		}
	}()
	for n := next; n <= fin; n++ {
		if ctx.Err() != nil {
			return nil
		}
		b, err := Fetch(ctx, w.Source, n)
		if err != nil {
			return err
		}
		ins, err := w.Store.Put(ctx, b, true)
		if err != nil {
			return err
		}
		if ins {
			w.written.Add(1)
			if w.OnWrite != nil {
				w.OnWrite(n)
			}
		}
	}
	return nil
}

func (w *Writer) setLeader(on bool) {
	w.leader.Store(on)
	if w.LeaderGauge != nil {
		v := 0.0
		if on {
			v = 1
		}
		w.LeaderGauge.Set(v)
	}
}
