package filters

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store keeps filters. Put stores (or refreshes) a filter for Expiry; Get
// returns nil when it is unknown or expired.
type Store interface {
	Put(ctx context.Context, f *Filter) error
	Get(ctx context.Context, id string) (*Filter, error)
	Delete(ctx context.Context, id string) (bool, error)
}

// Memory is a Store on this replica only.
type Memory struct {
	mu    sync.Mutex
	now   func() time.Time
	items map[string]memItem
	swept time.Time
}

type memItem struct {
	f       Filter
	expires time.Time
}

// NewMemory returns an empty memory store; now is the clock (nil for
// time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, items: map[string]memItem{}}
}

func (m *Memory) Put(_ context.Context, f *Filter) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.items[f.ID] = memItem{f: *f, expires: now.Add(Expiry)}
	if now.Sub(m.swept) > 30*time.Second {
		m.swept = now
		for id, it := range m.items {
			if now.After(it.expires) {
				delete(m.items, id)
			}
		}
	}
	return nil
}

func (m *Memory) Get(_ context.Context, id string) (*Filter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[id]
	if !ok || m.now().After(it.expires) {
		delete(m.items, id)
		return nil, nil
	}
	f := it.f
	return &f, nil
}

func (m *Memory) Delete(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[id]
	delete(m.items, id)
	return ok && !m.now().After(it.expires), nil
}

// Count is the number of live filters owned by owner.
func (m *Memory) Count(owner string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, now := 0, m.now()
	for _, it := range m.items {
		if it.f.Owner == owner && !now.After(it.expires) {
			n++
		}
	}
	return n
}

// Redis is a Store shared by every replica: one key per filter, with a
// TTL of Expiry refreshed by every poll.
type Redis struct {
	c      *redis.Client
	prefix string
}

// NewRedis opens a store on the Redis at url (redis://…), keys under
// prefix + "filter:".
func NewRedis(url, prefix string) (*Redis, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	return &Redis{c: redis.NewClient(opt), prefix: prefix + "filter:"}, nil
}

func (r *Redis) Put(ctx context.Context, f *Filter) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return r.c.Set(ctx, r.prefix+f.ID, b, Expiry).Err()
}

func (r *Redis) Get(ctx context.Context, id string) (*Filter, error) {
	b, err := r.c.Get(ctx, r.prefix+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f Filter
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

func (r *Redis) Delete(ctx context.Context, id string) (bool, error) {
	n, err := r.c.Del(ctx, r.prefix+id).Result()
	return n > 0, err
}

// Close closes the Redis client.
func (r *Redis) Close() error { return r.c.Close() }
