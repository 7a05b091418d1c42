package execute

import (
	"context"
	"time"
)

// deadlineCtx gives a request its deadline without arming a timer, which
// context.WithDeadline does for every request. Nothing on the request path
// needs Done to fire at the deadline: the queue wait and the upstream
// exchange take the deadline explicitly, and the retry loops ask Err,
// which reports DeadlineExceeded once it has passed. Done is the parent's
// (client gone, shutdown).
type deadlineCtx struct {
	context.Context
	deadline time.Time
}

func withDeadline(parent context.Context, d time.Time) *deadlineCtx {
	if pd, ok := parent.Deadline(); ok && pd.Before(d) {
		d = pd
	}
	return &deadlineCtx{Context: parent, deadline: d}
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *deadlineCtx) Err() error {
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}
