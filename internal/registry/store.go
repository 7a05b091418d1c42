package registry

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Store keeps run-time node changes and node history durably.
type Store interface {
	// Load returns every entry, sorted by chain then name. With Redis it
	// fails while Redis is unreachable; the caller keeps its last known set.
	Load(ctx context.Context) ([]Entry, error)
	// Put inserts or replaces the entry (Chain, Name). A zero Updated is set
	// to the current time. Invalid entries (see Entry.Validate) are refused.
	Put(ctx context.Context, e Entry) error
	// Delete forgets the entry (Chain, Name), so a node the config file
	// defines comes back as configured. Deleting a missing entry is no error.
	Delete(ctx context.Context, chain, name string) error
	// Watch calls fn with the full entry set after every change made by any
	// replica, until ctx ends or the store is closed; it blocks until then,
	// so run it in a goroutine you join. Calls are sequential and coalesce:
	// a burst of changes may produce one call with the latest set.
	//
	// Redis: changes are pushed over pub/sub. fn is also called once the
	// subscription is first established and after every reconnect (a full
	// re-sync), so nothing changed between Load and Watch, or while Redis was
	// away, is missed. While Redis is unreachable fn is not called at all.
	//
	// File: fn is called only for this store's own Put and Delete.
	Watch(ctx context.Context, fn func([]Entry))
	History
	// Close releases the store; running Watch calls return.
	Close() error
}

// Config selects and tunes a store.
type Config struct {
	// File is the state file path (e.g. "<config>.state.json"), used when
	// Redis is empty. A missing file is an empty store; it is created on the
	// first change, with mode 0600 because entries may hold node headers.
	File string
	// Redis is a redis:// or rediss:// URL (go-redis ParseURL syntax, e.g.
	// redis://:password@host:6379/0). When set, Redis is the source of truth
	// and File is not used.
	Redis string
	// Prefix is put in front of every Redis key and channel.
	// Default: "rpcgate:".
	Prefix string
	// Retention is how long history events are kept. Default: 8 days.
	Retention time.Duration
}

// Defaults for Config and the history limits.
const (
	DefaultPrefix    = "rpcgate:"
	DefaultRetention = 8 * 24 * time.Hour
	// MaxEventsPerChain caps the history kept per chain (oldest dropped), so
	// a flapping node cannot grow the store without bound within Retention.
	MaxEventsPerChain = 10000
)

// ErrNoBackend is returned by Open when neither File nor Redis is set.
var ErrNoBackend = errors.New("registry: neither a state file nor a Redis URL is configured")

// Open returns the Redis store when cfg.Redis is set, otherwise the file
// store at cfg.File. A Redis that is unreachable at Open is no error (it is
// logged): the gateway starts with its config nodes and Watch delivers the
// entries once Redis answers. A corrupt state file is an error naming it.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	switch {
	case cfg.Redis != "":
		return openRedis(ctx, cfg, log, time.Now)
	case cfg.File != "":
		return openFile(cfg, log, time.Now)
	}
	return nil, ErrNoBackend
}
