package store

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// ErrMissing says the store does not hold what a call asks for; the call
// goes to nodes.
var ErrMissing = errors.New("store: not stored")

// Envelope is the node's answer shape kept at ingest.
func (s *Store) Envelope(ctx context.Context) (Envelope, error) {
	var b []byte
	err := s.Pool.QueryRow(ctx, `SELECT v FROM store_meta WHERE k = 'envelope'`).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return Envelope{}, ErrMissing
	}
	if err != nil {
		return Envelope{}, err
	}
	e, ok := decodeEnvelope(b)
	if !ok {
		return Envelope{}, ErrMissing
	}
	return e, nil
}

func one(ctx context.Context, s *Store, q string, args ...any) ([]byte, error) {
	var b []byte
	err := s.Pool.QueryRow(ctx, q, args...).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrMissing
	}
	return b, err
}

// BlockByNumber is the block's raw JSON, with full transactions or hashes.
func (s *Store) BlockByNumber(ctx context.Context, n uint64, full bool) ([]byte, error) {
	if full {
		return one(ctx, s, `SELECT raw_full FROM blocks WHERE number = $1`, int64(n))
	}
	return one(ctx, s, `SELECT raw FROM blocks WHERE number = $1`, int64(n))
}

// BlockByHash is BlockByNumber by hash (lower-case hex).
func (s *Store) BlockByHash(ctx context.Context, hash string, full bool) ([]byte, error) {
	if full {
		return one(ctx, s, `SELECT raw_full FROM blocks WHERE hash = $1`, hash)
	}
	return one(ctx, s, `SELECT raw FROM blocks WHERE hash = $1`, hash)
}

// BlockReceipts is the eth_getBlockReceipts result of a block by number
// or, when byHash, by hash.
func (s *Store) BlockReceipts(ctx context.Context, n uint64, hash string, byHash bool) ([]byte, error) {
	if byHash {
		return one(ctx, s, `SELECT receipts FROM blocks WHERE hash = $1`, hash)
	}
	return one(ctx, s, `SELECT receipts FROM blocks WHERE number = $1`, int64(n))
}

// TxCount is the JSON quantity of a block's transaction count.
func (s *Store) TxCount(ctx context.Context, n uint64, hash string, byHash bool) ([]byte, error) {
	var c int
	var err error
	if byHash {
		err = s.Pool.QueryRow(ctx, `SELECT tx_count FROM blocks WHERE hash = $1`, hash).Scan(&c)
	} else {
		err = s.Pool.QueryRow(ctx, `SELECT tx_count FROM blocks WHERE number = $1`, int64(n)).Scan(&c)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrMissing
	}
	if err != nil {
		return nil, err
	}
	return strconv.AppendQuote(nil, quantity(uint64(c))), nil
}

// Transaction is a transaction's raw JSON by hash.
func (s *Store) Transaction(ctx context.Context, hash string) ([]byte, error) {
	return one(ctx, s, `SELECT raw FROM transactions WHERE hash = $1`, hash)
}

// TransactionAt is the transaction at index i of a block (by number, or
// by hash when byHash). A block stored without that index answers null,
// as a node does.
func (s *Store) TransactionAt(ctx context.Context, n uint64, hash string, byHash bool, i uint64) ([]byte, error) {
	var num int64
	var err error
	if byHash {
		err = s.Pool.QueryRow(ctx, `SELECT number FROM blocks WHERE hash = $1`, hash).Scan(&num)
	} else {
		err = s.Pool.QueryRow(ctx, `SELECT number FROM blocks WHERE number = $1`, int64(n)).Scan(&num)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrMissing
	}
	if err != nil {
		return nil, err
	}
	b, err := one(ctx, s, `SELECT raw FROM transactions WHERE block_number = $1 AND tx_index = $2`, num, int64(i))
	if errors.Is(err, ErrMissing) {
		return []byte("null"), nil
	}
	return b, err
}

// Receipt is a transaction's receipt raw JSON.
func (s *Store) Receipt(ctx context.Context, hash string) ([]byte, error) {
	return one(ctx, s, `SELECT raw FROM receipts WHERE tx_hash = $1`, hash)
}

// Covers reports whether every block in [from, to] is stored.
func (s *Store) Covers(ctx context.Context, from, to uint64) (bool, error) {
	if to < from {
		return true, nil
	}
	var c int64
	err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM blocks WHERE number BETWEEN $1 AND $2`, int64(from), int64(to)).Scan(&c)
	return err == nil && uint64(c) == to-from+1, err
}

// BlockNumberOf is the number of a stored block by hash.
func (s *Store) BlockNumberOf(ctx context.Context, hash string) (uint64, error) {
	var n int64
	err := s.Pool.QueryRow(ctx, `SELECT number FROM blocks WHERE hash = $1`, hash).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrMissing
	}
	return uint64(n), err
}
