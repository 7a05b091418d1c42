package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/rpcgate/rpcgate/internal/watch"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisStore keeps entries in the hash <prefix>nodes (field "chain/name",
// value the entry's JSON) and announces every change on the channel
// <prefix>nodes:changed in the same MULTI/EXEC. History is a sorted set per
// chain, <prefix>history:<chain>, scored by unix milliseconds.
type redisStore struct {
	client    *redis.Client
	prefix    string
	retention time.Duration
	log       *slog.Logger
	now       func() time.Time

	done chan struct{}
	once sync.Once
}

var _ Store = (*redisStore)(nil)

func openRedis(ctx context.Context, cfg Config, log *slog.Logger, now func() time.Time) (*redisStore, error) {
	opt, err := redis.ParseURL(cfg.Redis)
	if err != nil {
		return nil, fmt.Errorf("registry: redis URL: %w", err)
	}
	s := &redisStore{
		client:    redis.NewClient(opt),
		prefix:    cfg.Prefix,
		retention: cfg.Retention,
		log:       log,
		now:       now,
		done:      make(chan struct{}),
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.client.Ping(pctx).Err(); err != nil {
		log.Warn("registry: redis not reachable yet; serving config nodes until it is", "addr", opt.Addr, "err", err)
	}
	return s, nil
}

func (s *redisStore) nodesKey() string           { return s.prefix + "nodes" }
func (s *redisStore) channel() string            { return s.prefix + "nodes:changed" }
func (s *redisStore) historyKey(c string) string { return s.prefix + "history:" + c }

func (s *redisStore) Load(ctx context.Context) ([]Entry, error) {
	m, err := s.client.HGetAll(ctx, s.nodesKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("registry: loading nodes from redis: %w", err)
	}
	out := make([]Entry, 0, len(m))
	for field, raw := range m {
		var e Entry
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			s.log.Error("registry: skipping undecodable entry", "key", s.nodesKey(), "field", field, "err", err)
			continue
		}
		if err := e.Validate(); err != nil || e.key() != field {
			s.log.Error("registry: skipping invalid entry", "key", s.nodesKey(), "field", field, "err", err)
			continue
		}
		out = append(out, e)
	}
	sortEntries(out)
	return out, nil
}

func (s *redisStore) Put(ctx context.Context, e Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if e.Updated.IsZero() {
		e.Updated = s.now()
	}
	e.Updated = e.Updated.UTC()
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("registry: encoding entry: %w", err)
	}
	_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.nodesKey(), e.key(), data)
		p.Publish(ctx, s.channel(), e.key())
		return nil
	})
	if err != nil {
		return fmt.Errorf("registry: storing %s in redis: %w", e.key(), err)
	}
	return nil
}

func (s *redisStore) Delete(ctx context.Context, chain, name string) error {
	key := entryKey(chain, name)
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, s.nodesKey(), key)
		p.Publish(ctx, s.channel(), key)
		return nil
	})
	if err != nil {
		return fmt.Errorf("registry: deleting %s in redis: %w", key, err)
	}
	return nil
}

// Watch subscribes to the change channel and reloads the whole set on every
// message and on every (re)subscription confirmation, which go-redis's
// PubSub delivers each time it has reconnected. A reload that fails (Redis
// went away again) is retried with backoff; fn only ever sees a set that
// was actually read.
func (s *redisStore) Watch(ctx context.Context, fn func([]Entry)) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()

	watch.Redis(ctx, s.client, s.channel(), s.Load, fn, s.log, "node set")
}

// eventRecord is an Event as stored in Redis: the random ID keeps equal
// events distinct members of the sorted set.
type eventRecord struct {
	ID string `json:"id"`
	Event
}

func (s *redisStore) Record(ctx context.Context, ev Event) error {
	now := s.now().UTC()
	if err := checkEvent(&ev, now); err != nil {
		return err
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	data, err := json.Marshal(eventRecord{ID: hex.EncodeToString(id[:]), Event: ev})
	if err != nil {
		return fmt.Errorf("registry: encoding event: %w", err)
	}
	key := s.historyKey(ev.Chain)
	cutoff := now.Add(-s.retention).UnixMilli()
	_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, key, redis.Z{Score: float64(ev.At.UnixMilli()), Member: data})
		p.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(cutoff, 10))
		p.ZRemRangeByRank(ctx, key, 0, -MaxEventsPerChain-1)
		// An abandoned chain's history expires on its own.
		p.PExpire(ctx, key, s.retention)
		return nil
	})
	if err != nil {
		return fmt.Errorf("registry: recording event in redis: %w", err)
	}
	return nil
}

func (s *redisStore) Events(ctx context.Context, chain string, since time.Time) ([]Event, error) {
	min := "-inf"
	if !since.IsZero() {
		// Scores are whole milliseconds; the exact filter follows.
		min = strconv.FormatInt(since.UnixMilli(), 10)
	}
	raws, err := s.client.ZRangeByScore(ctx, s.historyKey(chain), &redis.ZRangeBy{Min: min, Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("registry: reading history from redis: %w", err)
	}
	out := make([]Event, 0, len(raws))
	for _, raw := range raws {
		var r eventRecord
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			s.log.Error("registry: skipping undecodable event", "key", s.historyKey(chain), "err", err)
			continue
		}
		if r.At.Before(since) {
			continue
		}
		out = append(out, r.Event)
	}
	sortEvents(out)
	return out, nil
}

func (s *redisStore) Close() error {
	var err error
	s.once.Do(func() {
		close(s.done)
		err = s.client.Close()
	})
	return err
}
