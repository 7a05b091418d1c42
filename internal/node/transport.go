package node

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rpcgate/rpcgate/internal/schedule"
)

// upstream is the pooled keep-alive HTTP/1.1 client for one node. It uses
// fasthttp's HostClient: the exchange runs in the caller's goroutine (no
// per-connection reader and writer goroutines), which halves the CPU the
// upstream side of a proxied call costs compared with net/http's client
// (see docs/decisions.md and bench/).
type upstream struct {
	client *fasthttp.HostClient
	uri    string
	header [][2]string
}

func newUpstream(rawURL string, headers map[string]string, workers int, maxBody int64) (*upstream, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	tls := u.Scheme == "https"
	addr := u.Host
	if u.Port() == "" {
		if tls {
			addr = net.JoinHostPort(u.Hostname(), "443")
		} else {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	up := &upstream{
		client: &fasthttp.HostClient{
			Addr:  addr,
			IsTLS: tls,
			// Slots bound client traffic to workers; probes add at most one.
			MaxConns:                      workers + 2,
			MaxConnWaitTimeout:            5 * time.Second,
			MaxIdleConnDuration:           10 * time.Second,
			MaxResponseBodySize:           int(min(maxBody, int64(^uint32(0)>>1))),
			ReadBufferSize:                16 << 10,
			WriteBufferSize:               16 << 10,
			DisableHeaderNamesNormalizing: true,
			NoDefaultUserAgentHeader:      true,
			// A POST is never re-sent by the client library: retrying is
			// the executor's decision, made by error type.
			RetryIf:                   func(*fasthttp.Request) bool { return false },
			DisablePathNormalizing:    true,
			StreamResponseBody:        false,
			DialDualStack:             false,
			MaxIdemponentCallAttempts: 1,
		},
		uri: rawURL,
	}
	for k, v := range headers {
		up.header = append(up.header, [2]string{k, v})
	}
	return up, nil
}

// Response is a node's answer. Body is valid until Release.
type Response struct {
	Status int
	Body   []byte
	resp   *fasthttp.Response
}

// Release returns the response's buffers to the pool.
func (r *Response) Release() {
	if r != nil && r.resp != nil {
		fasthttp.ReleaseResponse(r.resp)
		r.resp = nil
		r.Body = nil
	}
}

// Call is one upstream exchange.
type Call struct {
	Class schedule.Class
	// Deadline is the request's: it bounds the wait for a worker slot and
	// the exchange.
	Deadline time.Time
	// Timeout, when > 0, bounds the exchange from the moment it is sent
	// (the per-attempt timeout, see AttemptTimeout).
	Timeout time.Duration
	Body    []byte
	// Abandon, when set, lets another goroutine give up on the call.
	Abandon *Abandon
	// NoQueue takes a worker slot only if one is free now (a hedge):
	// otherwise the call fails at once with KindQueueFull, nothing sent,
	// and nothing is counted as shed.
	NoQueue bool
	// Background marks the gateway's own read (head following, finality
	// polls): like a health probe it is not client traffic, so it is not
	// counted in the node's request and error counters and does not judge
	// the node (the health checker does). It implies NoQueue.
	Background bool
}

// Do sends one JSON-RPC body (a call or a batch) to the node, waiting for a
// worker slot in class's queue first, no longer than deadline. Errors are
// *Error.
func (n *Node) Do(ctx context.Context, class schedule.Class, deadline time.Time, body []byte) (*Response, error) {
	return n.Send(ctx, &Call{Class: class, Deadline: deadline, Body: body})
}

// errNoFreeSlot is why a NoQueue call was not sent.
var errNoFreeSlot = errors.New("no free worker slot")

// Send makes one exchange with the node (see Call). Errors are *Error.
//
// Only failures that say something about the node count against its
// health: a body above the node's limit is refused before anything is
// sent; a refusal (HTTP 4xx) and a cut connection on a large request are
// the request's doing; a timeout counts only when the node answered
// nothing else meanwhile (see liveness).
func (n *Node) Send(ctx context.Context, c *Call) (*Response, error) {
	if limit := n.maxRequest(); int64(len(c.Body)) > limit {
		return nil, &Error{Node: n.name, Kind: KindRequestTooLarge, Limit: limit, ByRequest: true}
	}
	wait := c.Deadline
	if c.Timeout > 0 {
		// A read waits for a slot no longer than for an answer: a node
		// whose slots are all held (by calls to a frozen node) is left for
		// another as soon as one that answers would be.
		if d := time.Now().Add(c.Timeout); d.Before(wait) {
			wait = d
		}
	}
	if c.NoQueue || c.Background {
		if !n.slots.TryAcquire(c.Class) {
			return nil, &Error{Node: n.name, Kind: KindQueueFull, Cause: errNoFreeSlot}
		}
	} else if err := n.slots.Acquire(ctx, c.Class, wait); err != nil {
		switch {
		case errors.Is(err, schedule.ErrQueueFull):
			return nil, &Error{Node: n.name, Kind: KindQueueFull, Cause: err}
		case errors.Is(err, schedule.ErrDeadline):
			return nil, &Error{Node: n.name, Kind: KindShed, Cause: err}
		}
		return nil, &Error{Node: n.name, Kind: KindTimeout, Cause: err}
	}
	if c.Abandon != nil && !c.Abandon.hold(n) {
		n.slots.Release()
		return nil, &Error{Node: n.name, Kind: KindCanceled}
	}
	n.inflight.Add(1)
	if !c.Background {
		n.requests.Add(1)
	}
	start := time.Now()
	deadline, perAttempt := c.Deadline, false
	if c.Timeout > 0 {
		if d := start.Add(c.Timeout); d.Before(deadline) {
			deadline, perAttempt = d, true
		}
	}
	resp, err := n.exchange(ctx, deadline, c.Body)
	if c.Abandon != nil && !c.Abandon.finish() {
		// Abandoned meanwhile: the slot is free already, and the node is
		// not judged by an exchange nobody waited for.
		resp.Release()
		return nil, &Error{Node: n.name, Kind: KindCanceled, Sent: true}
	}
	n.inflight.Add(-1)
	n.slots.Release()
	if c.Background {
		return resp, err
	}
	now := time.Now()
	d := now.Sub(start)
	if err != nil {
		ne, _ := AsError(err)
		switch {
		case ne == nil:
			n.errors.Add(1)
			n.recordFailure(err)
		case ne.Kind == KindCanceled:
			// The caller left (a client that disconnected, shutdown): the
			// request's doing, never the node's (issue 8: a request a client
			// shaped never counts against a node's health).
		case ne.Kind == KindTimeout:
			ne.Attempt = perAttempt && now.Before(c.Deadline)
			n.observeLatency(d) // a silent node looks slow to selection at once
			n.timedOut(start, now, now.Sub(deadline), ne)
		case len(c.Body) > largeRequest && (ne.Kind == KindTransport || ne.Kind == KindHTTPStatus && ne.Status != http.StatusTooManyRequests):
			ne.ByRequest = true
		default:
			n.errors.Add(1)
			n.stats.observe(0, true)
			n.recordFailure(err)
		}
		return nil, err
	}
	n.stats.observe(d, false)
	n.observeLatency(d)
	n.recordSuccess()
	return resp, nil
}

func (n *Node) maxRequest() int64 {
	if n.opts.MaxRequestBytes > 0 {
		return n.opts.MaxRequestBytes
	}
	return DefaultMaxRequestBytes
}

// MaxRequestBytes is the largest request body the node is sent.
func (n *Node) MaxRequestBytes() int64 { return n.maxRequest() }

// Refused types an answer that is not JSON-RPC: when the node answered
// with HTTP 4xx it refused the request (too large, malformed), which is
// the request's doing and not counted; otherwise the node is at fault and
// it is counted like ReportBadResponse.
func (n *Node) Refused(status int, cause error) error {
	if status >= 400 && status < 500 && status != http.StatusTooManyRequests {
		return &Error{Node: n.name, Kind: KindRefused, Status: status, Sent: true, ByRequest: true, Cause: cause}
	}
	return n.ReportBadResponse(cause)
}

// roundTrip performs the HTTP exchange without slots or accounting; the
// health checker uses it directly so probes never queue behind traffic.
func (n *Node) roundTrip(ctx context.Context, body []byte) (*Response, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	return n.exchange(ctx, deadline, body)
}

// exchange is the HTTP exchange, bounded by deadline.
func (n *Node) exchange(ctx context.Context, deadline time.Time, body []byte) (*Response, error) {
	if err := ctx.Err(); err != nil {
		if errors.Is(err, context.Canceled) {
			// The caller left (client gone, shutdown) before anything was
			// sent: that says nothing about the node.
			return nil, &Error{Node: n.name, Kind: KindCanceled, Cause: err}
		}
		return nil, &Error{Node: n.name, Kind: KindTimeout, Cause: err}
	}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(n.up.uri)
	req.Header.SetMethod(http.MethodPost)
	req.Header.SetContentType("application/json")
	for _, h := range n.up.header {
		req.Header.Set(h[0], h[1])
	}
	req.SetBodyRaw(body)
	resp := fasthttp.AcquireResponse()
	if err := n.up.client.DoDeadline(req, resp, deadline); err != nil {
		fasthttp.ReleaseResponse(resp)
		return nil, n.transportError(ctx, err)
	}
	n.sawLife(time.Now())
	status := resp.StatusCode()
	if status >= 500 || status == http.StatusTooManyRequests {
		fasthttp.ReleaseResponse(resp)
		return nil, &Error{Node: n.name, Kind: KindHTTPStatus, Status: status, Sent: true}
	}
	return &Response{Status: status, Body: resp.Body(), resp: resp}, nil
}

// transportError types a failed exchange. Only a failed dial (or no free
// connection) proves that nothing reached the node.
func (n *Node) transportError(ctx context.Context, err error) *Error {
	var op *net.OpError
	switch {
	case errors.As(err, &op) && op.Op == "dial",
		errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, fasthttp.ErrNoFreeConns),
		errors.Is(err, fasthttp.ErrConnPoolStrategyNotImpl):
		return &Error{Node: n.name, Kind: KindConnect, Cause: err}
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return &Error{Node: n.name, Kind: KindTooLarge, Sent: true, Cause: err}
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &Error{Node: n.name, Kind: KindTimeout, Sent: true, Cause: err}
	case errors.Is(ctx.Err(), context.Canceled):
		return &Error{Node: n.name, Kind: KindCanceled, Sent: true, Cause: err}
	}
	return &Error{Node: n.name, Kind: KindTransport, Sent: true, Cause: err}
}

// recordFailure counts a failure toward ejection. Capacity answers (429,
// full queue) mean "busy", not "broken".
func (n *Node) recordFailure(err error) {
	if ne, ok := AsError(err); ok {
		switch {
		case ne.Kind == KindQueueFull, ne.Kind == KindShed, ne.Kind == KindHTTPStatus && ne.Status == http.StatusTooManyRequests:
			return
		}
	}
	if int(n.fails.Add(1)) >= n.threshold() && n.State() == StateOK {
		n.setState(StateEjected)
		n.log.Warn("node ejected", "reason", err.Error(), "cause", causeText(err), "consecutive_failures", n.fails.Load())
	}
}

func (n *Node) recordSuccess() {
	if n.fails.Load() != 0 {
		n.fails.Store(0)
	}
}

func (n *Node) threshold() int { return max(n.opts.FailThreshold, 1) }

func causeText(err error) string {
	if u := errors.Unwrap(err); u != nil {
		return u.Error()
	}
	return ""
}
