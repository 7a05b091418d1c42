package frontend

import (
	"context"
	"net"

	"github.com/rpcgate/rpcgate/internal/schedule"
)

// fastCtx is a fasthttp request's context: cancelled when the request is
// done, at the end of a shutdown, or, while the request waits in a queue,
// when its client goes away (schedule.ClientWatcher).
type fastCtx struct {
	context.Context
	cancel context.CancelFunc
	conn   net.Conn
}

func (c *fastCtx) Value(key any) any {
	if key == schedule.ClientWatcherKey {
		return c
	}
	return c.Context.Value(key)
}
