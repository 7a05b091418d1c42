package frontend

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/pipeline"
	"github.com/rpcgate/rpcgate/internal/relay"
)

// Public listener admission (issue 8, defect 1). Bodies are read as they
// arrive into a buffer that grows with the bytes received, never with the
// length a client announces; the bytes held are counted against a cap for
// the whole listener and one per client IP. Connections are counted per
// client IP at accept. Peers in tenancy.trusted_proxies are exempt from
// the per-IP limits (they carry many clients).

// freeBodyBytes of every body are admitted without a reservation, so small
// calls never wait on, or get refused by, the byte limits. What they can
// hold is bounded by the connection limits instead.
const freeBodyBytes = 64 << 10

// admission counts what the public listener holds.
type admission struct {
	total atomic.Int64 // body bytes reserved beyond freeBodyBytes, all clients

	mu    sync.Mutex
	perIP map[netip.Addr]*ipUse

	trusted atomic.Pointer[[]netip.Prefix]
}

type ipUse struct {
	conns int
	bytes int64
}

func (a *admission) exempt(ip netip.Addr) bool {
	if p := a.trusted.Load(); p != nil {
		for _, n := range *p {
			if n.Contains(ip) {
				return true
			}
		}
	}
	return false
}

// limited is the IP the per-IP limits count ip under: the zero Addr
// (counted nowhere) for a trusted proxy. It is decided once per connection
// and per body, so a reload of trusted_proxies cannot unbalance a count.
func (a *admission) limited(ip netip.Addr) netip.Addr {
	if a.exempt(ip) {
		return netip.Addr{}
	}
	return ip
}

// SetTrustedProxies exempts these networks from the per-IP limits.
func (s *Server) SetTrustedProxies(list []string) {
	var ps []netip.Prefix
	for _, v := range list {
		if p, err := netip.ParsePrefix(v); err == nil {
			ps = append(ps, p.Masked())
		} else if a, err := netip.ParseAddr(v); err == nil {
			ps = append(ps, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	s.admit.trusted.Store(&ps)
}

// Refusals of the admission stage.
var (
	errOverIP = &execute.Error{Code: jsonrpc.CodeLimited, HTTPStatus: http.StatusTooManyRequests, RetryAfter: 1,
		Message: "too many request body bytes in flight from this client IP (limits.max_inflight_body_bytes_per_ip); try again shortly"}
	errOverAll = &execute.Error{Code: jsonrpc.CodeOverloaded, HTTPStatus: http.StatusServiceUnavailable, RetryAfter: 1,
		Message: "the gateway holds too many request body bytes (limits.max_inflight_body_bytes); try again shortly"}
	errBodyTimeout = &execute.Error{Code: jsonrpc.CodeInvalidRequest, HTTPStatus: http.StatusRequestTimeout,
		Message: "request body not received in time (limits.body_read_timeout)"}
	errBodyCut = &execute.Error{Code: jsonrpc.CodeParse, HTTPStatus: http.StatusBadRequest,
		Message: "could not read request body"}
)

// reserve takes n more body bytes for ip (the zero Addr: the listener's
// cap only); on refusal nothing is taken.
func (a *admission) reserve(ip netip.Addr, n, perIP, total int64) *execute.Error {
	if a.total.Add(n) > total {
		a.total.Add(-n)
		return errOverAll
	}
	if !ip.IsValid() {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.use(ip)
	if u.bytes+n > perIP {
		a.total.Add(-n)
		a.drop(ip, u)
		return errOverIP
	}
	u.bytes += n
	return nil
}

func (a *admission) release(ip netip.Addr, n int64) {
	if n == 0 {
		return
	}
	a.total.Add(-n)
	if !ip.IsValid() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.use(ip)
	u.bytes -= n
	a.drop(ip, u)
}

// use returns ip's counters; a.mu must be held.
func (a *admission) use(ip netip.Addr) *ipUse {
	if a.perIP == nil {
		a.perIP = map[netip.Addr]*ipUse{}
	}
	u := a.perIP[ip]
	if u == nil {
		u = &ipUse{}
		a.perIP[ip] = u
	}
	return u
}

// drop forgets an idle ip; a.mu must be held.
func (a *admission) drop(ip netip.Addr, u *ipUse) {
	if u.conns <= 0 && u.bytes <= 0 {
		delete(a.perIP, ip)
	}
}

// connOpened counts a new connection of ip; false when it is over max.
func (a *admission) connOpened(ip netip.Addr, max int) bool {
	if !ip.IsValid() {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.use(ip)
	if u.conns >= max {
		a.drop(ip, u)
		return false
	}
	u.conns++
	return true
}

func (a *admission) connClosed(ip netip.Addr) {
	if !ip.IsValid() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.use(ip)
	u.conns--
	a.drop(ip, u)
}

// Listener wraps the public listener's ln: connections over
// limits.max_conns_per_ip are answered 429 and closed at accept.
func (s *Server) Listener(ln net.Listener) net.Listener { return &limitListener{Listener: ln, s: s} }

type limitListener struct {
	net.Listener
	s *Server
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := l.s.admit.limited(peerIP(c.RemoteAddr()))
		if l.s.admit.connOpened(ip, l.s.limits.Load().MaxConnsPerIP) {
			return &countedConn{Conn: c, a: &l.s.admit, ip: ip}, nil
		}
		go refuseConn(c)
	}
}

// refuseConn answers a connection over the per-IP limit without reading
// its request, then closes it.
func refuseConn(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	body := jsonrpc.AppendError(nil, []byte("null"), jsonrpc.CodeLimited,
		"too many open connections from this client IP (limits.max_conns_per_ip)", nil)
	io.WriteString(c, "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\n\r\n")
	c.Write(body)
	if cw, ok := c.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		io.CopyN(io.Discard, c, 64<<10) // let the client read the answer before the close
	}
}

type countedConn struct {
	net.Conn
	a    *admission
	ip   netip.Addr
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.a.connClosed(c.ip) })
	return c.Conn.Close()
}

// CloseWrite and SyscallConn keep the wrapped TCP connection's abilities
// (answerUnread half-closes; the client watch peeks at the socket).
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

func (c *countedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

func peerIP(a net.Addr) netip.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// bodyReader reads one request's body for the flow. It grows its buffer
// with the bytes received (doubling, from at most 4 KiB or the announced
// length when smaller), reserving every byte past freeBodyBytes.
type bodyReader struct {
	buf      *[]byte // pooled
	reserved int64
	ip       netip.Addr
	done     bool // read to the end
	timedOut bool // the body did not arrive in time: the connection is dead
}

// read reads the stream into the pooled buffer under limit and the
// admission caps.
func (r *bodyReader) read(s *Server, ctx *fasthttp.RequestCtx, ip netip.Addr, limit int64) ([]byte, error) {
	req := &ctx.Request
	cl := int64(req.Header.ContentLength())
	if cl > limit {
		return nil, errBodyTooLarge
	}
	if !req.IsBodyStream() {
		r.done = true
		return ctx.PostBody(), nil
	}
	stream := req.BodyStream()
	ip = s.admit.limited(ip)
	r.ip = ip
	r.buf = bodyPool.Get().(*[]byte)
	b := (*r.buf)[:0]
	lim := s.limits.Load()
	// window is how much of b the body may fill: it starts within the free
	// allowance and doubles, each doubling past the allowance reserved
	// first, whether or not b (maybe a large pooled buffer) must grow.
	window := min(int64(cap(b)), freeBodyBytes)
	for {
		if int64(len(b)) == window {
			if int64(len(b)) > limit {
				*r.buf = b[:0]
				return nil, errBodyTooLarge
			}
			want := max(2*window, 4<<10)
			if cl >= 0 {
				want = min(want, cl+1)
			}
			want = min(want, limit+1)
			if grow := want - max(window, freeBodyBytes); grow > 0 {
				if e := s.admit.reserve(ip, grow, lim.MaxInflightBodyBytesPerIP, lim.MaxInflightBodyBytes); e != nil {
					*r.buf = b[:0]
					return nil, e
				}
				r.reserved += grow
			}
			if want > int64(cap(b)) {
				nb := make([]byte, len(b), want)
				copy(nb, b)
				if cap(*r.buf) <= maxPooledBuf {
					*r.buf = b[:0]
					bodyPool.Put(r.buf)
				}
				r.buf = &nb
				b = nb
			}
			window = want
		}
		n, err := stream.Read(b[len(b):window])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			*r.buf = b[:0]
			var ne interface{ Timeout() bool }
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
				r.timedOut = true
				return nil, errBodyTimeout
			}
			return nil, errBodyCut
		}
	}
	if int64(len(b)) > limit {
		*r.buf = b[:0]
		return nil, errBodyTooLarge
	}
	r.done = true
	*r.buf = b
	return b, nil
}

// finish releases the reservation and the buffer. A body not read to its
// end leaves the connection unusable for a next request: it is then
// drained when little is left, or the answer is sent and the connection
// closed (answerUnread, so that a client still sending sees the answer).
func (r *bodyReader) finish(s *Server, ctx *fasthttp.RequestCtx) {
	if !r.done && ctx.Request.IsBodyStream() && !drain(ctx) {
		if r.timedOut {
			ctx.SetConnectionClose()
		} else {
			answerUnread(ctx)
		}
	}
	s.admit.release(r.ip, r.reserved)
	r.reserved = 0
	if r.buf != nil {
		*r.buf = (*r.buf)[:0]
		putBuf(&bodyPool, r.buf)
		r.buf = nil
	}
}

// drain reads and drops a body the flow did not read (a refusal before the
// body, e.g. an unknown path or key), when at most freeBodyBytes are left.
func drain(ctx *fasthttp.RequestCtx) bool {
	cl := ctx.Request.Header.ContentLength()
	if cl < 0 || cl > freeBodyBytes {
		return false
	}
	n, err := io.Copy(io.Discard, io.LimitReader(ctx.Request.BodyStream(), freeBodyBytes+1))
	return err == nil && n <= freeBodyBytes
}

// bodyError answers a body that could not be read: a cap or the body
// read timeout (a typed gateway error), or a broken body.
func bodyError(x exchange, rec *relay.Record, err error) {
	var e *execute.Error
	if errors.As(err, &e) {
		out := pipeline.Reject(rec, e.HTTPStatus, nil, e.Code, e.Message)
		out.RetryAfter = e.RetryAfter
		send(x, &out)
		return
	}
	reject(x, rec, http.StatusBadRequest, jsonrpc.CodeParse, "could not read request body")
}
