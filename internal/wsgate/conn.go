package wsgate

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/pipeline"
)

// conn is one client connection. The reader decodes messages and starts
// their calls; only the writer goroutine writes data frames, from a queue
// bounded in bytes (send_buffer_bytes): a client that lets it fill is a
// slow consumer and is closed with 1008 and a reason.
type conn struct {
	g      *Gate
	caller pipeline.Caller
	set    config.WebSocket
	ip     string
	key    string
	owner  string // what subscription limits count against

	ws     *websocket.Conn
	ctx    context.Context
	cancel context.CancelFunc

	qmu    sync.Mutex
	queue  [][]byte
	queued int64
	slow   bool // closed as a slow consumer
	signal chan struct{}

	closeOnce   sync.Once
	closing     chan struct{}
	closeCode   int
	closeReason string

	lastRead atomic.Int64 // unix nanos of the last client message

	smu  sync.Mutex
	subs map[string]*subscription

	calls    sync.WaitGroup
	sem      chan struct{}
	released bool // guarded by g.mu
}

// maxConcurrentCalls bounds the calls one connection runs at once; the
// reader waits for a free slot (back-pressure on the client).
const maxConcurrentCalls = 16

func newConn(g *Gate, caller pipeline.Caller, set config.WebSocket, ip, key string) *conn {
	c := &conn{g: g, caller: caller, set: set, ip: ip, key: key, owner: caller.ID.LimitKey,
		signal: make(chan struct{}, 1), closing: make(chan struct{}), subs: map[string]*subscription{},
		sem: make(chan struct{}, maxConcurrentCalls)}
	if c.owner == "" {
		c.owner = "ip:" + ip
	}
	c.ctx, c.cancel = context.WithCancel(g.o.Base)
	return c
}

// run serves the upgraded connection until it closes.
func (c *conn) run(ws *websocket.Conn) {
	c.ws = ws
	defer c.cancel()
	if !c.g.register(c) {
		c.closeCode, c.closeReason = websocket.CloseGoingAway, "server shutting down"
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.closeCode, c.closeReason), time.Now().Add(time.Second))
		ws.Close()
		return
	}
	ws.SetReadLimit(c.set.MaxMessageBytes)
	c.lastRead.Store(time.Now().UnixNano())
	wait := 2 * c.set.PingInterval.D()
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	ws.SetPongHandler(func(string) error {
		select {
		case <-c.closing:
			return nil
		default:
			return ws.SetReadDeadline(time.Now().Add(wait))
		}
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.write()
	}()
	c.read(wait)
	c.close(websocket.CloseNormalClosure, "")
	c.unsubscribeAll()
	c.calls.Wait()
	<-done
	ws.Close()
}

// read handles client messages until the connection fails or closes.
func (c *conn) read(wait time.Duration) {
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok && ce.Code == websocket.CloseMessageTooBig {
				c.close(websocket.CloseMessageTooBig, "message exceeds websocket.max_message_bytes "+strconv.FormatInt(c.set.MaxMessageBytes, 10))
			}
			return
		}
		select {
		case <-c.closing:
			// Keep reading (and dropping) until the client answers the
			// close frame or the writer's deadline passes: closing a socket
			// with unread input resets it, and the client would lose the
			// close frame and its reason.
			continue
		default:
		}
		c.lastRead.Store(time.Now().UnixNano())
		_ = c.ws.SetReadDeadline(time.Now().Add(wait))
		c.handle(msg)
	}
}

// send queues one message; false when the connection is closing. A queue
// over send_buffer_bytes closes the connection as a slow consumer.
func (c *conn) send(b []byte) bool {
	select {
	case <-c.closing:
		return false
	default:
	}
	c.qmu.Lock()
	if c.slow {
		c.qmu.Unlock()
		return false
	}
	if c.queued+int64(len(b)) > c.set.SendBufferBytes {
		c.queue, c.queued = nil, 0 // drop what waits: memory stays bounded
		c.slow = true              // decided once, even with calls racing here
		c.qmu.Unlock()
		c.g.o.Metrics.slow.WithLabelValues(c.caller.Chain.Name).Inc()
		c.g.o.Log.Warn("websocket slow consumer closed", "chain", c.caller.Chain.Name, "key", c.key, "plan", c.caller.ID.Plan,
			"remote", c.ip, "send_buffer_bytes", c.set.SendBufferBytes)
		c.close(websocket.ClosePolicyViolation, "slow consumer: more than "+strconv.FormatInt(c.set.SendBufferBytes, 10)+
			" bytes waiting to be sent (websocket.send_buffer_bytes)")
		return false
	}
	c.queue = append(c.queue, b)
	c.queued += int64(len(b))
	c.qmu.Unlock()
	select {
	case c.signal <- struct{}{}:
	default:
	}
	return true
}

// close starts closing with code and reason (sent by the writer once it
// is free); the first call wins.
func (c *conn) close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeReason = code, reason
		close(c.closing)
	})
}

// write is the only goroutine that writes data frames: queued messages,
// pings, and finally the close frame.
func (c *conn) write() {
	ping := time.NewTicker(c.set.PingInterval.D())
	defer ping.Stop()
	// The connection's context is not cancelled here: calls in flight
	// finish (their answers are dropped). Cancelling them would count as
	// failures of the node serving them (node.Do records a cancelled call
	// as a timeout) and a closing client could get a healthy node ejected.
	for {
		select {
		case <-c.closing:
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.closeCode, c.closeReason), time.Now().Add(time.Second))
			// Let the client answer the close, then drop the socket so a
			// reader stuck in ReadMessage returns.
			_ = c.ws.SetReadDeadline(time.Now().Add(time.Second))
			return
		case <-ping.C:
			if c.idle() {
				c.close(websocket.CloseNormalClosure, "idle: no subscription and no message for "+c.set.IdleTimeout.D().String()+" (websocket.idle_timeout)")
				continue
			}
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				c.close(websocket.CloseGoingAway, "")
				_ = c.ws.SetReadDeadline(time.Now())
				return
			}
		case <-c.signal:
			for {
				c.qmu.Lock()
				q := c.queue
				c.queue = nil
				c.qmu.Unlock()
				if len(q) == 0 {
					break
				}
				for i, m := range q {
					select {
					case <-c.closing:
						q = nil
					default:
					}
					if q == nil {
						break
					}
					_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
					if err := c.ws.WriteMessage(websocket.TextMessage, m); err != nil {
						c.close(websocket.CloseGoingAway, "")
						_ = c.ws.SetReadDeadline(time.Now())
						return
					}
					c.qmu.Lock()
					c.queued -= int64(len(m))
					if c.queued < 0 {
						c.queued = 0
					}
					c.qmu.Unlock()
					q[i] = nil
				}
				if q == nil {
					break
				}
			}
		}
	}
}

// idle reports a connection without subscriptions that sent nothing for
// idle_timeout.
func (c *conn) idle() bool {
	c.smu.Lock()
	n := len(c.subs)
	c.smu.Unlock()
	return n == 0 && time.Since(time.Unix(0, c.lastRead.Load())) > c.set.IdleTimeout.D()
}
