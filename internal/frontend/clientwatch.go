package frontend

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rpcgate/rpcgate/internal/schedule"
)

// fastCtx is a fasthttp request's context: it ends at the end of a
// shutdown (its base) and, once a watch has started, when the client goes
// away (schedule.ClientWatcher). The cancellable part is made only when a
// request first waits in a queue, so a request that never waits costs no
// context allocation or registration.
type fastCtx struct {
	base    context.Context
	conn    net.Conn
	mu      sync.Mutex                   // serialises the first watch (batch parts wait in parallel)
	watched atomic.Pointer[watchedState] // nil until a watch starts
}

type watchedState struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (c *fastCtx) current() context.Context {
	if w := c.watched.Load(); w != nil {
		return w.ctx
	}
	return c.base
}

func (c *fastCtx) Deadline() (time.Time, bool) { return c.base.Deadline() }
func (c *fastCtx) Done() <-chan struct{}       { return c.current().Done() }
func (c *fastCtx) Err() error                  { return c.current().Err() }

func (c *fastCtx) Value(key any) any {
	if key == schedule.ClientWatcherKey {
		return c
	}
	return c.base.Value(key)
}

// cancellable returns the cancel function of the request, making the
// cancellable context on first use.
func (c *fastCtx) cancellable() context.CancelFunc {
	if w := c.watched.Load(); w != nil {
		return w.cancel
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.watched.Load(); w != nil {
		return w.cancel
	}
	ctx, cancel := context.WithCancel(c.base)
	c.watched.Store(&watchedState{ctx, cancel})
	return cancel
}

// release ends the request's context, if a watch made one.
func (c *fastCtx) release() {
	if w := c.watched.Load(); w != nil {
		w.cancel()
	}
}
