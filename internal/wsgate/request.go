package wsgate

import (
	"net"
	"net/netip"

	"github.com/valyala/fasthttp"

	"github.com/rpcgate/rpcgate/internal/tenant"
)

// fastRequest shows an upgrade request's credentials (key in the path,
// a header or the query; the client's address) to the tenant stage. It
// is used before the upgrade only: fasthttp reuses the request after.
type fastRequest struct{ c *fasthttp.RequestCtx }

var _ tenant.Request = fastRequest{}

func (r fastRequest) Peer() netip.Addr {
	a, ok := r.c.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	return a.AddrPort().Addr().Unmap()
}

func (r fastRequest) Header(name string) string { return string(r.c.Request.Header.Peek(name)) }

func (r fastRequest) HeaderValues(name string) []string {
	var out []string
	for _, v := range r.c.Request.Header.PeekAll(name) {
		out = append(out, string(v))
	}
	return out
}

func (r fastRequest) Query(name string) string { return string(r.c.QueryArgs().Peek(name)) }
