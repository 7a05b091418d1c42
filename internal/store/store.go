// Package store is the chain store behind stateless followers: a writer
// copies finalized blocks, transactions, receipts and logs (the nodes' raw
// JSON) into PostgreSQL or YugabyteDB YSQL, and any rpcgate replica answers
// settled reads from it, byte for byte as the node answered (docs/followers.md).
package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is a connection pool to one chain's store.
type Store struct {
	Pool *pgxpool.Pool
	// Schema is the search_path the pool uses ("" is the server default).
	Schema string
}

// Options say how to connect.
type Options struct {
	// URL is a PostgreSQL connection string (postgres://...).
	URL string
	// Schema, when set, becomes the connections' search_path (tests use
	// one schema each).
	Schema string
	// MaxConns bounds the pool; 0: pgx's default.
	MaxConns int32
}

// Open connects lazily: a store that is down at start is not an error
// for a reader (calls fall through to nodes until it comes back).
func Open(ctx context.Context, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(o.URL)
	if err != nil {
		return nil, fmt.Errorf("store: bad postgres URL: %w", redact(err))
	}
	if o.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = o.Schema
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	// The simple protocol's text form is what YSQL and PgBouncer handle
	// alike; prepared statements are cached per connection otherwise.
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %w", redact(err))
	}
	return &Store{Pool: p, Schema: o.Schema}, nil
}

// Close closes the pool.
func (s *Store) Close() { s.Pool.Close() }

// redact drops the connection string (it may hold a password) from pgx's
// errors: only the kind of failure is kept.
func redact(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%T", err)
}

// Top is the highest block stored; ok is false for an empty store.
func (s *Store) Top(ctx context.Context) (uint64, bool, error) {
	var n *int64
	if err := s.Pool.QueryRow(ctx, `SELECT max(number) FROM blocks`).Scan(&n); err != nil {
		return 0, false, err
	}
	if n == nil {
		return 0, false, nil
	}
	return uint64(*n), true, nil
}

// Status is what `rpcgate store status` prints.
type Status struct {
	Lowest, Highest   uint64
	Blocks, Txs, Logs int64
	Receipts          int64
	Empty             bool
	MigrationsVersion int
}

// Stat reads the store's extent and row counts.
func (s *Store) Stat(ctx context.Context) (Status, error) {
	var st Status
	var lo, hi *int64
	if err := s.Pool.QueryRow(ctx, `SELECT min(number), max(number), count(*) FROM blocks`).Scan(&lo, &hi, &st.Blocks); err != nil {
		return st, err
	}
	if lo == nil {
		st.Empty = true
	} else {
		st.Lowest, st.Highest = uint64(*lo), uint64(*hi)
	}
	if err := s.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM transactions), (SELECT count(*) FROM receipts), (SELECT count(*) FROM logs)`).Scan(&st.Txs, &st.Receipts, &st.Logs); err != nil {
		return st, err
	}
	v, err := s.Version(ctx)
	st.MigrationsVersion = v
	return st, err
}
