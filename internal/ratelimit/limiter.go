// Package ratelimit enforces per-key request rates (token buckets, kept in
// process or shared through Redis with GCRA) and daily / monthly quotas of
// compute units.
//
// Rates and quotas answer different questions: a rate smooths how fast a key
// spends (it refills continuously), a quota caps how much it spends per UTC
// day and calendar month (it resets at the period start).
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Rate is a token bucket: PerSecond units refill per second, up to Burst.
type Rate struct {
	// PerSecond is the sustained rate; must be > 0.
	PerSecond float64
	// Burst is the bucket size, the most units spent at once. 0 means
	// PerSecond rounded up (at least 1), as in config.Rate.
	Burst int
}

// Names of the limit behind a Decision.
const (
	LimitRate    = "rate"
	LimitDaily   = "daily quota"
	LimitMonthly = "monthly quota"
)

// Decision is the answer to one request for units.
type Decision struct {
	// Allowed reports whether the units were spent.
	Allowed bool
	// RetryAfter is, when not allowed, how long until the same request
	// would be allowed (for the Retry-After header). 0 when allowed.
	RetryAfter time.Duration
	// Limit names the limit that decided: LimitRate, LimitDaily or
	// LimitMonthly; for an allowed quota spend, the one with less left.
	// Empty when no limit was consulted (Redis down, failing open).
	Limit string
	// Remaining is the number of units left after this request (before it,
	// when it was refused).
	Remaining float64
}

// Limiter spends units of a key's rate.
type Limiter interface {
	// Allow spends cost units of key's rate (a GCRA / token bucket); when not
	// allowed, nothing is spent and RetryAfter says when cost units will be
	// available. A cost above the burst is admitted only when the bucket is
	// full, and leaves it in debt, so an expensive method is slowed to the
	// rate rather than refused forever. Cost 0 spends nothing and reports
	// what is left.
	Allow(ctx context.Context, key string, cost int, r Rate) (Decision, error)
}

// Mode says what a Redis-backed limit does while Redis fails.
type Mode uint8

const (
	// FailOpen admits the request (or, with a local fallback, applies the
	// rate per replica) and returns an error wrapping ErrRedisDown so the
	// caller can count it.
	FailOpen Mode = iota
	// FailClosed refuses the request with ErrRedisDown; the caller answers
	// 503.
	FailClosed
)

func (m Mode) String() string {
	switch m {
	case FailOpen:
		return "open"
	case FailClosed:
		return "closed"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ErrRedisDown wraps every Redis failure a limiter or quota reports.
var ErrRedisDown = errors.New("ratelimit: redis unavailable")

// redisDownRetry is the Retry-After suggested while failing closed.
const redisDownRetry = time.Second

// gcra holds a Rate in the terms of the generic cell rate algorithm, in
// nanoseconds: interval is the time one unit takes to refill, tau the time
// the whole burst takes.
type gcra struct {
	interval float64
	tau      int64
	burst    int
}

func (r Rate) gcra() (gcra, error) {
	if !(r.PerSecond > 0) || math.IsInf(r.PerSecond, 0) {
		return gcra{}, fmt.Errorf("ratelimit: rate %v/s: must be a finite number > 0", r.PerSecond)
	}
	burst := r.Burst
	if burst <= 0 {
		burst = max(1, int(math.Ceil(r.PerSecond)))
	}
	interval := float64(time.Second) / r.PerSecond
	return gcra{interval: interval, tau: int64(float64(burst) * interval), burst: burst}, nil
}

func checkCost(cost int64) error {
	if cost < 0 {
		return fmt.Errorf("ratelimit: cost %d: must be >= 0", cost)
	}
	return nil
}
