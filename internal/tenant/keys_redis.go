package tenant

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/rpcgate/rpcgate/internal/watch"

	"github.com/redis/go-redis/v9"
)

// NewRedisKeys returns a KeyStore kept in the hash <prefix>keys (field: key
// name, value: the StoredKey as JSON). Every change is announced on the
// channel <prefix>keys:changed in the same MULTI/EXEC, so every replica's
// Watch sees it. The client belongs to the caller, who closes it.
func NewRedisKeys(c redis.UniversalClient, prefix string, log *slog.Logger) KeyStore {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &redisKeys{c: c, prefix: prefix, log: log}
}

type redisKeys struct {
	c      redis.UniversalClient
	prefix string
	log    *slog.Logger
}

func (s *redisKeys) hashKey() string { return s.prefix + "keys" }
func (s *redisKeys) channel() string { return s.prefix + "keys:changed" }

func (s *redisKeys) List(ctx context.Context) ([]StoredKey, error) {
	m, err := s.c.HGetAll(ctx, s.hashKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("tenant: loading keys from redis: %w", err)
	}
	out := make([]StoredKey, 0, len(m))
	for field, raw := range m {
		var k StoredKey
		if err := json.Unmarshal([]byte(raw), &k); err != nil {
			s.log.Error("tenant: skipping undecodable key", "key", s.hashKey(), "field", field, "err", err)
			continue
		}
		if err := k.Validate(); err != nil || k.Name != field {
			s.log.Error("tenant: skipping invalid key", "key", s.hashKey(), "field", field, "err", err)
			continue
		}
		out = append(out, k)
	}
	sortKeys(out)
	return out, nil
}

func (s *redisKeys) encode(k StoredKey) ([]byte, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	k.Created = k.Created.UTC()
	return json.Marshal(k)
}

func (s *redisKeys) Put(ctx context.Context, k StoredKey) error {
	data, err := s.encode(k)
	if err != nil {
		return err
	}
	_, err = s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.hashKey(), k.Name, data)
		p.Publish(ctx, s.channel(), k.Name)
		return nil
	})
	if err != nil {
		return fmt.Errorf("tenant: storing key %s in redis: %w", k.Name, err)
	}
	return nil
}

func (s *redisKeys) Create(ctx context.Context, k StoredKey) error {
	data, err := s.encode(k)
	if err != nil {
		return err
	}
	var set *redis.BoolCmd
	_, err = s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		set = p.HSetNX(ctx, s.hashKey(), k.Name, data)
		p.Publish(ctx, s.channel(), k.Name)
		return nil
	})
	if err != nil {
		return fmt.Errorf("tenant: storing key %s in redis: %w", k.Name, err)
	}
	if !set.Val() {
		return ErrKeyExists
	}
	return nil
}

func (s *redisKeys) Delete(ctx context.Context, name string) error {
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, s.hashKey(), name)
		p.Publish(ctx, s.channel(), name)
		return nil
	})
	if err != nil {
		return fmt.Errorf("tenant: deleting key %s in redis: %w", name, err)
	}
	return nil
}

// Watch subscribes to the change channel and re-lists on every message
// and every (re)subscription, which go-redis's PubSub reports after each
// reconnect. A failed List is retried with backoff; fn only sees sets that
// were actually read.
func (s *redisKeys) Watch(ctx context.Context, fn func([]StoredKey)) {
	watch.Redis(ctx, s.c, s.channel(), s.List, fn, s.log, "keys")
}
