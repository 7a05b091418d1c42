package ratelimit

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// retryRedisEvery is how long a Redis-backed limit stops asking Redis after
// a failure. Without it every request would wait out the client's dial and
// read timeouts while Redis is black-holed; with it, one request probes per
// period and the rest fail (open or closed) at once.
const retryRedisEvery = 500 * time.Millisecond

// errRedisSkipped is returned while the breaker holds Redis off.
var errRedisSkipped = fmt.Errorf("%w: not retrying yet after a recent failure", ErrRedisDown)

// breaker remembers that Redis failed recently. The zero value is closed
// (Redis is asked).
type breaker struct {
	// downUntil is unix nanoseconds before which Redis is not asked; 0 when
	// Redis answered last.
	downUntil atomic.Int64
}

// try reports whether this call may ask Redis. After the hold-off expires
// exactly one caller wins the probe; the others keep failing fast.
func (b *breaker) try() bool {
	until := b.downUntil.Load()
	if until == 0 {
		return true
	}
	now := time.Now().UnixNano()
	return now >= until && b.downUntil.CompareAndSwap(until, now+int64(retryRedisEvery))
}

// done records the outcome of a Redis call and turns its error into the one
// to report: nil, the caller's own context error (not Redis's fault), or an
// error wrapping ErrRedisDown.
func (b *breaker) done(ctx context.Context, err error) error {
	if err == nil {
		b.downUntil.Store(0)
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("ratelimit: %w", ctx.Err())
	}
	b.downUntil.Store(time.Now().Add(retryRedisEvery).UnixNano())
	return fmt.Errorf("%w: %w", ErrRedisDown, err)
}
