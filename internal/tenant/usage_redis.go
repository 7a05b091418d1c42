package tenant

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// flushEvery is how often buffered usage is written to Redis.
const flushEvery = time.Second

// NewRedisUsage keeps usage in Redis, one hash per key and day:
// <prefix>usage:<key>:<YYYY-MM-DD> with fields "<method>:req" and
// "<method>:cu", expiring UsageRetention after its last write. Add only
// touches an in-memory buffer; a goroutine flushes it every second
// (HINCRBY in one MULTI/EXEC) until Close. A failed flush keeps the counts
// for the next one, so nothing is lost while Redis is away; if a
// connection breaks after Redis ran the EXEC but before it answered, that
// batch is counted twice (rare, and never lost). The client belongs to
// the caller.
func NewRedisUsage(c redis.UniversalClient, prefix string, log *slog.Logger) Usage {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	u := &redisUsage{c: c, prefix: prefix, log: log, buf: map[keyDay]map[string]counts{}, cancel: cancel}
	u.wg.Add(1)
	go u.loop(ctx)
	return u
}

type redisUsage struct {
	c      redis.UniversalClient
	prefix string
	log    *slog.Logger

	mu    sync.Mutex
	buf   map[keyDay]map[string]counts
	names methodNames
	last  day

	flushMu sync.Mutex // one flush at a time, so retried counts keep order
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
}

func (u *redisUsage) hashKey(key string, d day) string {
	return u.prefix + "usage:" + key + ":" + d.String()
}

func (u *redisUsage) Add(_ context.Context, key, method string, cu int64, at time.Time) {
	kd := keyDay{key, dayOf(at)}
	u.mu.Lock()
	defer u.mu.Unlock()
	if kd.day > u.last {
		u.last = kd.day
		u.names.forget(kd.day - 1)
	}
	add(u.buf, kd, u.names.name(kd, method), counts{1, cu})
}

func add(buf map[keyDay]map[string]counts, kd keyDay, method string, n counts) {
	m := buf[kd]
	if m == nil {
		m = map[string]counts{}
		buf[kd] = m
	}
	c := m[method]
	c.req += n.req
	c.cu += n.cu
	m[method] = c
}

func (u *redisUsage) loop(ctx context.Context) {
	defer u.wg.Done()
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := u.Flush(fctx); err != nil && ctx.Err() == nil {
				u.log.Warn("tenant: flushing usage to redis failed; will retry", "err", err)
			}
			cancel()
		}
	}
}

func (u *redisUsage) Flush(ctx context.Context) error {
	u.flushMu.Lock()
	defer u.flushMu.Unlock()
	u.mu.Lock()
	buf := u.buf
	u.buf = map[keyDay]map[string]counts{}
	u.mu.Unlock()
	if len(buf) == 0 {
		return nil
	}
	_, err := u.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for kd, methods := range buf {
			h := u.hashKey(kd.key, kd.day)
			for m, c := range methods {
				p.HIncrBy(ctx, h, m+":req", c.req)
				if c.cu != 0 {
					p.HIncrBy(ctx, h, m+":cu", c.cu)
				}
			}
			p.Expire(ctx, h, UsageRetention)
		}
		return nil
	})
	if err != nil {
		u.mu.Lock()
		for kd, methods := range buf {
			for m, c := range methods {
				add(u.buf, kd, m, c)
			}
		}
		u.mu.Unlock()
		return fmt.Errorf("tenant: flushing usage to redis: %w", err)
	}
	return nil
}

func (u *redisUsage) Get(ctx context.Context, key string, from, to time.Time) (UsageReport, error) {
	a, b, err := dayRange(from, to)
	if err != nil {
		return UsageReport{}, fmt.Errorf("tenant: %w", err)
	}
	cmds := make([]*redis.MapStringStringCmd, 0, int(b-a)+1)
	_, err = u.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for d := a; d <= b; d++ {
			cmds = append(cmds, p.HGetAll(ctx, u.hashKey(key, d)))
		}
		return nil
	})
	if err != nil {
		return UsageReport{}, fmt.Errorf("tenant: reading usage from redis: %w", err)
	}
	return report(key, a, b, func(d day) map[string]counts {
		out := map[string]counts{}
		for field, v := range cmds[d-a].Val() {
			method, kind, ok := cutLast(field, ':')
			if !ok {
				continue
			}
			var n int64
			if _, err := fmt.Sscan(v, &n); err != nil {
				continue
			}
			c := out[method]
			switch kind {
			case "req":
				c.req = n
			case "cu":
				c.cu = n
			default:
				continue
			}
			out[method] = c
		}
		return out
	}), nil
}

func cutLast(s string, sep byte) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// Close stops the flusher and writes what is buffered (5 s at most).
func (u *redisUsage) Close() error {
	var err error
	u.once.Do(func() {
		u.cancel()
		u.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = u.Flush(ctx)
	})
	return err
}
