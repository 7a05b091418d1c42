package cache

// The Redis tier: finalized answers shared by every replica, so a new
// replica serves hot reads at once. It is a second tier: a Redis failure
// is a miss, never an error for the client.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisTimeout bounds one Redis read or write: a slow Redis must cost a
// call less than the node it stands in for.
const redisTimeout = 50 * time.Millisecond

type redisTier struct {
	c      *redis.Client
	prefix string
	chain  string
}

func newRedisTier(url, prefix, chain string) (*redisTier, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	opt.MaxRetries = -1
	return &redisTier{c: redis.NewClient(opt), prefix: prefix, chain: chain}, nil
}

// key is the Redis key of a cache key: the chain in clear (for purges),
// the call hashed (keys stay short and printable).
func (r *redisTier) key(k string) string {
	sum := sha256.Sum256([]byte(k))
	return r.prefix + r.chain + ":" + hex.EncodeToString(sum[:])
}

func (r *redisTier) get(ctx context.Context, k string) (Template, bool) {
	ctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	b, err := r.c.Get(ctx, r.key(k)).Bytes()
	if err != nil {
		return Template{}, false
	}
	return decodeTemplate(b)
}

func (r *redisTier) put(ctx context.Context, k string, t Template) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisTimeout)
	defer cancel()
	_ = r.c.Set(ctx, r.key(k), t.encode(), 0).Err()
}

// purge deletes the chain's keys.
func (r *redisTier) purge(ctx context.Context, chain string) error {
	iter := r.c.Scan(ctx, 0, r.prefix+chain+":*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			if err := r.c.Del(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return r.c.Del(ctx, batch...).Err()
	}
	return nil
}

func (r *redisTier) close() { _ = r.c.Close() }
