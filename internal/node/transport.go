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

// Do sends one JSON-RPC body (a call or a batch) to the node, waiting for a
// worker slot in class's queue first, no longer than deadline. Errors are
// *Error.
func (n *Node) Do(ctx context.Context, class schedule.Class, deadline time.Time, body []byte) (*Response, error) {
	if err := n.slots.Acquire(ctx, class, deadline); err != nil {
		switch {
		case errors.Is(err, schedule.ErrQueueFull):
			return nil, &Error{Node: n.name, Kind: KindQueueFull, Cause: err}
		case errors.Is(err, schedule.ErrDeadline):
			return nil, &Error{Node: n.name, Kind: KindShed, Cause: err}
		}
		return nil, &Error{Node: n.name, Kind: KindTimeout, Cause: err}
	}
	n.inflight.Add(1)
	n.requests.Add(1)
	start := time.Now()
	resp, err := n.roundTrip(ctx, body)
	n.inflight.Add(-1)
	n.slots.Release()
	if err != nil {
		n.errors.Add(1)
		n.stats.observe(0, true)
		n.recordFailure(err)
		return nil, err
	}
	d := time.Since(start)
	n.stats.observe(d, false)
	n.observeLatency(d)
	n.recordSuccess()
	return resp, nil
}

// roundTrip performs the HTTP exchange without slots or accounting; the
// health checker uses it directly so probes never queue behind traffic.
func (n *Node) roundTrip(ctx context.Context, body []byte) (*Response, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	if err := ctx.Err(); err != nil {
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
	case errors.Is(err, fasthttp.ErrTimeout), ctx.Err() != nil:
		return &Error{Node: n.name, Kind: KindTimeout, Sent: true, Cause: err}
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
