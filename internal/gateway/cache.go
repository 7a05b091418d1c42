package gateway

import (
	"net/http"

	"github.com/rpcgate/rpcgate/internal/admin"
)

var _ admin.CachePurger = (*Gateway)(nil)

// PurgeCache empties chain's response cache (admin API).
func (g *Gateway) PurgeCache(r *http.Request, chain string) (int, error) {
	c := g.caches.For(chain)
	if c == nil {
		return 0, admin.ErrUnknownChain
	}
	return c.Purge(r.Context())
}
