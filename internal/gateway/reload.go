package gateway

import (
	"fmt"
	"slices"

	"github.com/rpcgate/rpcgate/internal/admin"
	"github.com/rpcgate/rpcgate/internal/config"
)

// Reload re-reads the config file the gateway was started with and applies
// it: node, group and method changes take effect for new requests while
// in-flight requests finish on the nodes they hold; unchanged nodes keep
// their health and latency state. An invalid file changes nothing.
func (g *Gateway) Reload() error {
	g.mu.Lock()
	file := g.cfg.File
	g.mu.Unlock()
	if file == "" {
		return &admin.ReloadError{Err: fmt.Errorf("the config did not come from a file")}
	}
	cfg, err := config.Load(file)
	if err != nil {
		g.log.Error("reload rejected: invalid config; the old one keeps serving", "file", file, "err", err)
		return &admin.ReloadError{Err: err}
	}
	return g.ApplyConfig(cfg)
}

// ApplyConfig makes cfg the running config (see Reload). Listener
// addresses, the admin token and the registry backend cannot change
// without a restart; a change to them is refused. admin.allow_node_hosts
// may change: it is read at each admin add.
func (g *Gateway) ApplyConfig(cfg *config.Config) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.cfg
	switch {
	case cfg.Listen != old.Listen || cfg.Admin.Listen != old.Admin.Listen || cfg.Admin.Token != old.Admin.Token ||
		!slices.Equal(cfg.Admin.AllowedHosts, old.Admin.AllowedHosts):
		return &admin.ReloadError{Err: fmt.Errorf("listen and admin settings cannot change without a restart")}
	case cfg.Registry != old.Registry:
		return &admin.ReloadError{Err: fmt.Errorf("registry settings cannot change without a restart")}
	}
	if err := g.tenants.resolver.Reload(cfg); err != nil {
		g.log.Error("reload rejected: plans or keys invalid; the old config keeps serving", "err", err)
		return &admin.ReloadError{Err: err}
	}
	if err := g.applyLocked(cfg, g.entries); err != nil {
		g.log.Error("reload rejected; the old config keeps serving", "err", err)
		return &admin.ReloadError{Err: err}
	}
	g.log.Info("config reloaded", "file", cfg.File, "chains", len(cfg.Chains))
	return nil
}
