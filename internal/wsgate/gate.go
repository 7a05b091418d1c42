// Package wsgate is the WebSocket transport adapter of the public
// listener: it upgrades requests on the same paths as HTTP
// (ws://host/<chain>, host-based chains, keys in the path or a header),
// resolves the chain and caller once per connection (pipeline.Open) and
// hands every JSON-RPC message to the pipeline (pipeline.Relay), so calls
// over WebSocket get the same groups, limits and failover as over HTTP.
// eth_subscribe and eth_unsubscribe are served from the gateway's chain
// feed (internal/chainfeed), never forwarded to one node.
//
// One file per concept: gate.go (the upgrade, limits, shutdown), conn.go
// (one connection: reader, writer, bounded send buffer), subscription.go
// (eth_subscribe), message.go (what a client message is), request.go (the
// caller's credentials before the upgrade), metrics.go.
package wsgate

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/rpcgate/rpcgate/internal/chainfeed"
	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/pipeline"
	"github.com/rpcgate/rpcgate/internal/relay"
)

// Options are what a Gate is built from.
type Options struct {
	Pipe *pipeline.Pipeline
	Hub  *chainfeed.Hub
	// Settings are the websocket section; a reload swaps them with
	// SetSettings (open connections keep theirs).
	Settings config.WebSocket
	// MaxBatch is limits.max_batch.
	MaxBatch int
	// WSGroup maps a chain to its ws_group (may be nil).
	WSGroup func(chain string) string
	Log     *slog.Logger
	Metrics *Metrics
	// Base is the parent of every connection's context.
	Base context.Context
}

// Gate accepts and serves WebSocket connections.
type Gate struct {
	o        Options
	settings atomic.Pointer[config.WebSocket]
	up       websocket.FastHTTPUpgrader

	mu       sync.Mutex
	closed   bool
	conns    map[*conn]struct{}
	reserved int // admitted connections, upgraded or not
	perIP    map[string]int
	perKey   map[string]int
	subsOf   map[string]int // subscriptions per limit key
	wg       sync.WaitGroup
	draining chan struct{}
}

// New returns a gate.
func New(o Options) *Gate {
	if o.Base == nil {
		o.Base = context.Background()
	}
	if o.WSGroup == nil {
		o.WSGroup = func(string) string { return "" }
	}
	g := &Gate{o: o, conns: map[*conn]struct{}{}, perIP: map[string]int{}, perKey: map[string]int{},
		subsOf: map[string]int{}, draining: make(chan struct{})}
	g.settings.Store(&o.Settings)
	g.up = websocket.FastHTTPUpgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 8192, // pooled: only connections that are writing hold one
		WriteBufferPool: &sync.Pool{},
		// Browsers send Origin; the gateway serves any origin, as its
		// HTTP side sends Access-Control-Allow-Origin: *.
		CheckOrigin: func(*fasthttp.RequestCtx) bool { return true },
	}
	return g
}

// SetSettings swaps the limits for new connections (reload).
func (g *Gate) SetSettings(s config.WebSocket) { g.settings.Store(&s) }

// IsUpgrade reports a WebSocket upgrade request.
func (g *Gate) IsUpgrade(ctx *fasthttp.RequestCtx) bool {
	return websocket.FastHTTPIsWebSocketUpgrade(ctx)
}

// Serve answers an upgrade request: it resolves the chain and caller,
// applies the connection limits and upgrades, or answers with an HTTP
// error and a JSON-RPC error body.
func (g *Gate) Serve(ctx *fasthttp.RequestCtx) {
	rec := relay.Get()
	defer relay.Put(rec)
	rec.Transport = "ws"
	caller, out, ok := g.o.Pipe.Open(pipeline.Target{Host: string(ctx.Host()), Path: string(ctx.Path()), Creds: fastRequest{ctx}}, rec)
	if !ok {
		refuse(ctx, out.Status, out.Body, out.Challenge)
		return
	}
	caller.Group = g.o.WSGroup(caller.Chain.Name)
	set := g.settings.Load()
	ip, key := caller.ID.ClientIP.String(), caller.ID.Key
	if reason, status := g.admit(set, ip, key); reason != "" {
		g.o.Metrics.refused.WithLabelValues(caller.Chain.Name, status.label).Inc()
		refuse(ctx, status.code, jsonrpc.AppendError(nil, []byte("null"), jsonrpc.CodeLimited, reason, nil), "")
		return
	}
	c := newConn(g, caller, *set, ip, key)
	err := g.up.Upgrade(ctx, func(ws *websocket.Conn) {
		defer g.release(c)
		c.run(ws)
	})
	if err != nil {
		g.release(c)
	}
}

type refusal struct {
	code  int
	label string
}

// admit counts a new connection against the limits, or says why not.
func (g *Gate) admit(set *config.WebSocket, ip, key string) (string, refusal) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.closed:
		return "the gateway is shutting down", refusal{http.StatusServiceUnavailable, "shutdown"}
	case g.reserved >= set.MaxConnections:
		return "too many WebSocket connections on this gateway (websocket.max_connections " + strconv.Itoa(set.MaxConnections) + ")",
			refusal{http.StatusServiceUnavailable, "max_connections"}
	case g.perIP[ip] >= set.MaxConnectionsPerIP:
		return "too many WebSocket connections from this address (websocket.max_connections_per_ip " + strconv.Itoa(set.MaxConnectionsPerIP) + ")",
			refusal{http.StatusTooManyRequests, "max_connections_per_ip"}
	case key != "" && g.perKey[key] >= set.MaxConnectionsPerKey:
		return "too many WebSocket connections for this key (websocket.max_connections_per_key " + strconv.Itoa(set.MaxConnectionsPerKey) + ")",
			refusal{http.StatusTooManyRequests, "max_connections_per_key"}
	}
	g.perIP[ip]++
	if key != "" {
		g.perKey[key]++
	}
	g.wg.Add(1)
	g.reserved++
	return "", refusal{}
}

// register makes c known to Shutdown once it is upgraded.
func (g *Gate) register(c *conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.conns[c] = struct{}{}
	g.o.Metrics.conns.WithLabelValues(c.caller.Chain.Name).Inc()
	return true
}

// release undoes admit (and register).
func (g *Gate) release(c *conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c.released {
		return
	}
	c.released = true
	if _, ok := g.conns[c]; ok {
		delete(g.conns, c)
		g.o.Metrics.conns.WithLabelValues(c.caller.Chain.Name).Dec()
	}
	g.reserved--
	if g.perIP[c.ip]--; g.perIP[c.ip] <= 0 {
		delete(g.perIP, c.ip)
	}
	if c.key != "" {
		if g.perKey[c.key]--; g.perKey[c.key] <= 0 {
			delete(g.perKey, c.key)
		}
	}
	g.wg.Done()
}

// addSub counts a subscription against its caller's limit.
func (g *Gate) addSub(owner string, max int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.subsOf[owner] >= max {
		return false
	}
	g.subsOf[owner]++
	return true
}

func (g *Gate) dropSub(owner string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.subsOf[owner]--; g.subsOf[owner] <= 0 {
		delete(g.subsOf, owner)
	}
}

// Conns is the number of open connections.
func (g *Gate) Conns() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// Shutdown refuses new connections, closes every open one with code 1001
// and waits until they are gone or ctx ends.
func (g *Gate) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	conns := make([]*conn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		c.close(websocket.CloseGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refuse answers an upgrade request with an HTTP error.
func refuse(ctx *fasthttp.RequestCtx, status int, body []byte, challenge string) {
	ctx.SetStatusCode(status)
	if challenge != "" {
		ctx.Response.Header.Set("WWW-Authenticate", challenge)
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// writeWait bounds one write to a client; a client that does not take a
// message for this long is gone.
const writeWait = 10 * time.Second
