package gateway

import (
	"net/http"

	"github.com/rpcgate/rpcgate/internal/admin"
	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/snapshot"
)

// Snapshot stores (snapshots.dir) are served at /snapshots/ on one
// listener: the public one when snapshots.public, else the admin one
// behind its token. The directory is read at start; changing it takes a
// restart.

func publicPages(cfg *config.Config, status http.Handler) http.Handler {
	if cfg.Snapshots.Dir == "" || !cfg.Snapshots.Public {
		return status
	}
	mux := http.NewServeMux()
	mux.Handle("/snapshots/", snapshot.Handler(cfg.Snapshots.Dir, "/snapshots/"))
	mux.Handle("/", status)
	return mux
}

func adminPages(s config.Snapshots, token string, hosts []string, api http.Handler) http.Handler {
	if s.Dir == "" || s.Public {
		return api
	}
	mux := http.NewServeMux()
	mux.Handle("GET /snapshots/", admin.Protect(token, snapshot.Handler(s.Dir, "/snapshots/"), hosts...))
	mux.Handle("/", api)
	return mux
}
