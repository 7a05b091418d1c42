package admin

import "net/http"

// CachePurger is the optional ability of a Fleet to empty a chain's
// response cache (memory and Redis tiers). A chain without a cache answers
// ErrUnknownChain's 404 with its own message.
type CachePurger interface {
	PurgeCache(r *http.Request, chain string) (entries int, err error)
}

// purgeCache handles POST /admin/chains/{chain}/cache/purge.
func (a *api) purgeCache(w http.ResponseWriter, r *http.Request) {
	p, ok := a.f.(CachePurger)
	if !ok {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "this gateway has no response cache"})
		return
	}
	chain := r.PathValue("chain")
	n, err := p.PurgeCache(r, chain)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.log.Info("admin: cache purged", "chain", chain, "entries", n)
	writeJSON(w, http.StatusOK, map[string]any{"chain": chain, "purged": n})
}
