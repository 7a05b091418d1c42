package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a counting HTTP reverse proxy in front of one node: the gateway
// talks to the proxy, and tests read which methods reached which node.
type Proxy struct {
	Name string
	URL  string // what the gateway's config points at

	mu     sync.Mutex
	counts map[string]int  // JSON-RPC method -> calls seen (batch items each count)
	posts  int             // HTTP requests seen
	peers  map[string]bool // client addresses seen: one per connection

	fault atomic.Pointer[Fault]
	srv   *httptest.Server
}

// Fault, when set, sees every request before it is forwarded; returning true
// means it has answered (or dropped) the request itself.
type Fault func(w http.ResponseWriter, r *http.Request, body []byte) bool

// StartProxy starts a proxy forwarding to target, closed at cleanup.
func StartProxy(t testing.TB, name, target string) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("proxy %s: %v", name, err)
	}
	p := &Proxy{Name: name, counts: map[string]int{}, peers: map[string]bool{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	// When the node is dead, drop the gateway's connection without an answer
	// instead of replying 502: a SIGKILLed node answers nothing, and the
	// gateway should see a transport error, not an HTTP response from a node.
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		abortConn(w)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			abortConn(w)
			return
		}
		p.count(body)
		p.peer(r.RemoteAddr)
		if f := p.fault.Load(); f != nil && (*f)(w, r, body) {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	p.srv = srv
	return p
}

// Close shuts the proxy's listener and its connections: from then on a
// connection to its URL is refused, as when the node's host is down. It
// waits for requests in progress and is safe to call twice.
func (p *Proxy) Close() { p.srv.Close() }

// StartProxies puts one proxy in front of every node of the fleet.
func StartProxies(t testing.TB, f *Fleet) map[string]*Proxy {
	t.Helper()
	ps := make(map[string]*Proxy, len(f.Nodes))
	for _, a := range f.Nodes {
		ps[a.Name] = StartProxy(t, a.Name, a.URL)
	}
	return ps
}

// SetFault installs (or, with nil, removes) a fault.
func (p *Proxy) SetFault(f Fault) {
	if f == nil {
		p.fault.Store(nil)
		return
	}
	p.fault.Store(&f)
}

func (p *Proxy) count(body []byte) {
	type call struct {
		Method string `json:"method"`
	}
	var calls []call
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		_ = json.Unmarshal(trimmed, &calls)
	} else {
		var c call
		if json.Unmarshal(trimmed, &c) == nil {
			calls = []call{c}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.posts++
	for _, c := range calls {
		p.counts[c.Method]++
	}
}

func (p *Proxy) peer(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.peers[addr] = true
}

// Conns returns how many client connections have carried a request to this
// proxy since it started (Reset does not clear it).
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.peers)
}

// Count returns how many calls of method reached this node since the last Reset.
func (p *Proxy) Count(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[method]
}

// Counts returns a copy of the per-method counts.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// Total returns all calls seen, every method.
func (p *Proxy) Total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, v := range p.counts {
		n += v
	}
	return n
}

// Reset zeroes the counters.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts = map[string]int{}
	p.posts = 0
}

// ResetAll zeroes every proxy's counters.
func ResetAll(ps map[string]*Proxy) {
	for _, p := range ps {
		p.Reset()
	}
}

// abortConn closes the client connection without writing a response.
func abortConn(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
