package tenant

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Request is what Resolve reads of an HTTP request. The public listener
// (fasthttp) and net/http each adapt their own request to it; HTTP adapts
// a *http.Request.
type Request interface {
	// Peer is the TCP peer's address; the zero Addr when unknown.
	Peer() netip.Addr
	// Header is the first value of a request header ("" when absent).
	Header(name string) string
	// HeaderValues is every value of a header, in order (X-Forwarded-For
	// may repeat).
	HeaderValues(name string) []string
	// Query is the first value of a URL query parameter ("" when absent).
	Query(name string) string
}

// HTTP adapts a net/http request.
func HTTP(r *http.Request) Request { return httpRequest{r} }

type httpRequest struct{ r *http.Request }

func (h httpRequest) Peer() netip.Addr                  { return ParseHostAddr(h.r.RemoteAddr) }
func (h httpRequest) Header(name string) string         { return h.r.Header.Get(name) }
func (h httpRequest) HeaderValues(name string) []string { return h.r.Header.Values(name) }
func (h httpRequest) Query(name string) string {
	if h.r.URL == nil || !strings.Contains(h.r.URL.RawQuery, name+"=") {
		return ""
	}
	q, err := url.ParseQuery(h.r.URL.RawQuery)
	if err != nil {
		return ""
	}
	return q.Get(name)
}
