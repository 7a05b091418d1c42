package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisQuotas counts in Redis, shared by every replica. A key's counters
// are <prefix>quota:{<key>}:d:<YYYYMMDD> and <prefix>quota:{<key>}:m:<YYYYMM>
// (UTC); the hash tag keeps both in one cluster slot so one script can
// touch them. Each expires a day after its period ends, so a late replica
// can still read it and Redis forgets old periods by itself.
//
// Periods follow the now given to Spend, not Redis's clock: replicas with
// skewed clocks may disagree for a moment at midnight, which only moves a
// spend between two periods.
type RedisQuotas struct {
	c       redis.UniversalClient
	prefix  string
	onError Mode
	health  breaker
}

var _ Quotas = (*RedisQuotas)(nil)

// NewRedisQuotas returns quotas kept in c under prefix. While Redis fails,
// FailOpen admits (Decision.Limit "") and FailClosed refuses; either way
// the error wraps ErrRedisDown.
func NewRedisQuotas(c redis.UniversalClient, prefix string, onError Mode) Quotas {
	return &RedisQuotas{c: c, prefix: prefix, onError: onError}
}

// quotaScript checks KEYS[1] (day) against cap ARGV[2] and KEYS[2] (month)
// against ARGV[3] for a spend of ARGV[1]; a cap of 0 is none. When both fit
// it adds the cost to both and sets their TTLs to ARGV[4] and ARGV[5]
// seconds. Returns {refused: 0 none, 1 daily, 2 monthly; day count; month
// count}, the counts after an allowed spend or before a refused one.
var quotaScript = redis.NewScript(`
local cost = tonumber(ARGV[1])
local daily = tonumber(ARGV[2])
local monthly = tonumber(ARGV[3])
local d = tonumber(redis.call('GET', KEYS[1]) or '0')
local m = tonumber(redis.call('GET', KEYS[2]) or '0')
if monthly > 0 and m + cost > monthly then return {2, d, m} end
if daily > 0 and d + cost > daily then return {1, d, m} end
d = redis.call('INCRBY', KEYS[1], cost)
redis.call('EXPIRE', KEYS[1], ARGV[4])
m = redis.call('INCRBY', KEYS[2], cost)
redis.call('EXPIRE', KEYS[2], ARGV[5])
return {0, d, m}
`)

// Spend implements Quotas.
func (q *RedisQuotas) Spend(ctx context.Context, key string, cost int64, daily, monthly int64, now time.Time) (Decision, error) {
	if err := checkCost(cost); err != nil {
		return Decision{}, err
	}
	if daily <= 0 && monthly <= 0 {
		return Decision{Allowed: true, Remaining: math.Inf(1)}, nil
	}
	if !q.health.try() {
		return q.failed(errRedisSkipped)
	}
	p := periodsAt(now)
	base := q.prefix + "quota:{" + key + "}:"
	keys := []string{base + p.day.Format("d:20060102"), base + p.month.Format("m:200601")}
	ttl := func(end time.Time) int64 { return int64(math.Ceil(end.AddDate(0, 0, 1).Sub(now).Seconds())) }
	res, err := quotaScript.Run(ctx, q.c, keys, cost, max(0, daily), max(0, monthly), ttl(p.nextDay), ttl(p.nextMonth)).Int64Slice()
	if err == nil && len(res) != 3 {
		err = fmt.Errorf("ratelimit: quota script returned %d values, want 3", len(res))
	}
	if err = q.health.done(ctx, err); err != nil {
		if ctx.Err() != nil {
			return Decision{}, err
		}
		return q.failed(err)
	}
	refused := ""
	switch res[0] {
	case 1:
		refused = LimitDaily
	case 2:
		refused = LimitMonthly
	}
	return quotaDecision(refused, res[1], res[2], daily, monthly, now, p), nil
}

func (q *RedisQuotas) failed(err error) (Decision, error) {
	if q.onError == FailClosed {
		return Decision{RetryAfter: redisDownRetry}, err
	}
	return Decision{Allowed: true}, err
}
