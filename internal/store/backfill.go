package store

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Backfill fills [From, To] from Source with Workers concurrent fetchers.
// Blocks already stored are skipped, so an interrupted backfill resumes
// where it stopped and each block is stored once.
type Backfill struct {
	Store    *Store
	Source   *Source
	From, To uint64
	Workers  int
	// Progress, when set, gets a line per second: done/total, blocks/s,
	// ETA.
	Progress io.Writer
	// OnPut is called after each block stored (tests).
	OnPut func(n uint64)
}

// Missing lists the blocks of [from, to] the store lacks.
func (s *Store) Missing(ctx context.Context, from, to uint64) ([]uint64, error) {
	rows, err := s.Pool.Query(ctx, `SELECT g FROM generate_series($1::bigint, $2::bigint) g WHERE NOT EXISTS (SELECT 1 FROM blocks WHERE number = g) ORDER BY g`, int64(from), int64(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []uint64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, uint64(n))
	}
	return out, rows.Err()
}

// Run backfills; it returns ctx's error when interrupted.
func (b *Backfill) Run(ctx context.Context) (stored uint64, err error) {
	if b.To < b.From {
		return 0, fmt.Errorf("store: backfill --to %d is below --from %d", b.To, b.From)
	}
	todo, err := b.Store.Missing(ctx, b.From, b.To)
	if err != nil {
		return 0, err
	}
	workers := b.Workers
	if workers <= 0 {
		workers = 8
	}
	jobs := make(chan uint64)
	var done atomic.Uint64
	var firstErr error
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				blk, err := Fetch(ctx, b.Source, n)
				if err == nil {
					var ins bool
					ins, err = b.Store.Put(ctx, blk, false)
					if ins {
						done.Add(1)
						if b.OnPut != nil {
							b.OnPut(n)
						}
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil && ctx.Err() == nil {
						firstErr = fmt.Errorf("store: block %d: %w", n, err)
					}
					mu.Unlock()
					cancel()
				}
			}
		}()
	}
	stop := make(chan struct{})
	var pw sync.WaitGroup
	if b.Progress != nil {
		pw.Add(1)
		go func() {
			defer pw.Done()
			start := time.Now()
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				d := done.Load()
				rate := float64(d) / time.Since(start).Seconds()
				eta := "?"
				if rate > 0 {
					eta = (time.Duration(float64(uint64(len(todo))-d)/rate) * time.Second).String()
				}
				fmt.Fprintf(b.Progress, "\rbackfill %d/%d blocks  %.1f blocks/s  ETA %s ", d, len(todo), rate, eta)
			}
		}()
	}
feed:
	for _, n := range todo {
		select {
		case jobs <- n:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	close(stop)
	pw.Wait()
	if b.Progress != nil {
		fmt.Fprintf(b.Progress, "\rbackfill %d/%d blocks stored\n", done.Load(), len(todo))
	}
	if firstErr != nil {
		return done.Load(), firstErr
	}
	return done.Load(), context.Cause(ctx)
}
