//go:build unix

package frontend

import (
	"syscall"
	"time"
)

// WatchClient waits, in a goroutine, for the client's connection to become
// readable and peeks at it without consuming anything: end of stream or an
// error means the client is gone, and the request is cancelled. Bytes mean
// the client pipelined its next request: it is still there, and the watch
// ends. stop unblocks the wait with a past read deadline; fasthttp sets
// its own deadline again before it next reads the connection.
func (c *fastCtx) WatchClient() (stop func()) {
	sc, ok := c.conn.(syscall.Conn)
	if !ok {
		return func() {}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return func() {}
	}
	cancel := c.cancellable()
	done := make(chan struct{})
	go func() {
		defer close(done)
		var b [1]byte
		_ = rc.Read(func(fd uintptr) bool {
			n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			switch {
			case err == syscall.EAGAIN || err == syscall.EINTR:
				return false // nothing yet: wait for the connection to be readable
			case err != nil || n == 0:
				cancel() // reset, or closed by the client
			}
			return true
		})
	}()
	return func() {
		c.conn.SetReadDeadline(pastDeadline)
		<-done
		c.conn.SetReadDeadline(time.Time{})
	}
}

var pastDeadline = time.Unix(1, 0)
