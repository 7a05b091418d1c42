package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Store is where snapshots live. Names are slash-separated and relative
// (chunks/ab/ab…zst, manifests/eth/….json, eth/latest.json).
type Store interface {
	// Get opens name from byte offset off (0 for all of it). A missing
	// name gives an error matching ErrNotExist.
	Get(ctx context.Context, name string, off int64) (io.ReadCloser, error)
	// Stat gives the size of name, or ErrNotExist.
	Stat(ctx context.Context, name string) (int64, error)
	// Put stores size bytes from r under name; readers never see a part.
	Put(ctx context.Context, name string, r io.Reader, size int64) error
	// List gives every name under prefix.
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes name; a missing name is not an error.
	Delete(ctx context.Context, name string) error
	// String names the store for messages, without credentials.
	String() string
}

// ErrNotExist is what stores return for a missing name.
var ErrNotExist = errors.New("snapshot: not found in the store")

// ErrReadOnly is what a fetch-only store (HTTP) returns for writes.
var ErrReadOnly = errors.New("snapshot: this store is read-only (HTTP); publish to a directory or s3:// and serve that")

// OpenStore opens a store from a command-line location: a directory, an
// http(s):// URL (fetch only), or s3://bucket/prefix.
func OpenStore(loc string) (Store, error) {
	switch {
	case strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://"):
		return NewHTTP(loc, nil)
	case strings.HasPrefix(loc, "s3://"):
		return NewS3FromEnv(loc)
	case strings.Contains(loc, "://"):
		return nil, fmt.Errorf("snapshot: %q: a location is a directory, http(s)://… or s3://bucket/prefix", loc)
	case loc == "":
		return nil, errors.New("snapshot: empty location")
	}
	return NewDir(loc), nil
}

func getAll(ctx context.Context, s Store, name string, limit int64) ([]byte, error) {
	r, err := s.Get(ctx, name, 0)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("snapshot: %s is larger than %d bytes", name, limit)
	}
	return b, nil
}
