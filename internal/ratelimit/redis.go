package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Limiter shared by every replica using the same Redis and
// prefix: GCRA in one Lua script, so check-and-spend is atomic. The script
// reads the clock with Redis TIME, so replicas whose clocks disagree still
// enforce one limit. Each bucket is the string <prefix>rate:<key> holding
// its theoretical arrival time in unix microseconds, expiring when the
// bucket would be full again (a missing key is a full bucket).
type Redis struct {
	c       redis.UniversalClient
	prefix  string
	onError Mode
	local   *Local
	health  breaker
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter keeping buckets in c under prefix. onError
// decides what Allow does while Redis fails: FailClosed refuses; FailOpen
// admits, or, when local is not nil, falls back to local's per-replica
// buckets with the same rate (so a key gets at most N times its rate across
// N replicas rather than no limit at all). Either way the error wraps
// ErrRedisDown.
func NewRedis(c redis.UniversalClient, prefix string, onError Mode, local *Local) *Redis {
	return &Redis{c: c, prefix: prefix, onError: onError, local: local}
}

// gcraScript spends ARGV[3] units of the bucket KEYS[1] whose unit refills
// in ARGV[1] microseconds (a float), with a burst of ARGV[2] units. It
// returns {allowed 0|1, retry after in microseconds, remaining units as a
// string} (Lua numbers would be truncated to integers on the way out).
// Redis 5+ replicates the script's effects, not the script, so TIME is safe.
var gcraScript = redis.NewScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tau = burst * interval
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local wait = tat + math.min(cost, burst) * interval - now - tau
if wait > 0 then
  return {0, math.ceil(wait), tostring(math.max(0, (tau - (tat - now)) / interval))}
end
tat = tat + cost * interval
local ttl = math.ceil((tat - now) / 1000)
if ttl > 0 then
  redis.call('SET', KEYS[1], string.format('%.17g', tat), 'PX', ttl)
end
return {1, 0, tostring(math.max(0, (tau - (tat - now)) / interval))}
`)

// Allow implements Limiter.
func (l *Redis) Allow(ctx context.Context, key string, cost int, r Rate) (Decision, error) {
	g, err := r.gcra()
	if err != nil {
		return Decision{}, err
	}
	if err := checkCost(int64(cost)); err != nil {
		return Decision{}, err
	}
	if !l.health.try() {
		return l.failed(ctx, key, cost, r, errRedisSkipped)
	}
	res, err := gcraScript.Run(ctx, l.c, []string{l.prefix + "rate:" + key},
		strconv.FormatFloat(g.interval/1e3, 'g', -1, 64), g.burst, cost).Slice()
	var d Decision
	if err == nil {
		d, err = parseGCRA(res)
	}
	if err = l.health.done(ctx, err); err != nil {
		if ctx.Err() != nil {
			return Decision{}, err
		}
		return l.failed(ctx, key, cost, r, err)
	}
	return d, nil
}

func (l *Redis) failed(ctx context.Context, key string, cost int, r Rate, err error) (Decision, error) {
	if l.onError == FailClosed {
		return Decision{RetryAfter: redisDownRetry}, err
	}
	if l.local != nil {
		d, _ := l.local.Allow(ctx, key, cost, r)
		return d, err
	}
	return Decision{Allowed: true}, err
}

func parseGCRA(res []any) (Decision, error) {
	if len(res) != 3 {
		return Decision{}, fmt.Errorf("ratelimit: gcra script returned %d values, want 3", len(res))
	}
	allowed, ok1 := res[0].(int64)
	wait, ok2 := res[1].(int64)
	rem, ok3 := res[2].(string)
	if !ok1 || !ok2 || !ok3 {
		return Decision{}, fmt.Errorf("ratelimit: gcra script returned %#v", res)
	}
	remaining, err := strconv.ParseFloat(rem, 64)
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: gcra script remaining %q: %w", rem, err)
	}
	return Decision{
		Allowed:    allowed == 1,
		RetryAfter: time.Duration(wait) * time.Microsecond,
		Limit:      LimitRate,
		Remaining:  remaining,
	}, nil
}
