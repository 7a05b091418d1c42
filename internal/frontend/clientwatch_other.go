//go:build !unix

package frontend

// WatchClient cannot peek at a connection on this platform: a queued
// request whose client left waits out its deadline.
func (c *fastCtx) WatchClient() (stop func()) { return func() {} }
