// Package gateway assembles a running rpcgate from a config: chains and
// their node checkers, the node registry, the public and admin listeners,
// reloads and run-time node changes, and their orderly start and stop.
// cmd/rpcgate and the demo both use it.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"github.com/rpcgate/rpcgate/internal/analytics"
	"github.com/rpcgate/rpcgate/internal/cache"
	chainstore "github.com/rpcgate/rpcgate/internal/store"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rpcgate/rpcgate/internal/admin"
	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/frontend"
	"github.com/rpcgate/rpcgate/internal/orchestrator"
	"github.com/rpcgate/rpcgate/internal/registry"
	"github.com/rpcgate/rpcgate/internal/route"
	"github.com/rpcgate/rpcgate/internal/session"
	"github.com/rpcgate/rpcgate/internal/status"
	"github.com/rpcgate/rpcgate/internal/summary"
	"github.com/rpcgate/rpcgate/internal/telemetry"
	"github.com/valyala/fasthttp"
)

// Gateway is one running rpcgate.
type Gateway struct {
	log     *slog.Logger
	metrics *telemetry.Metrics
	public  *frontend.Server
	version string

	mu      sync.Mutex // serialises config and node-set changes
	cfg     *config.Config
	store   registry.Store
	entries []registry.Entry
	chains  atomic.Pointer[[]*fleet.Chain]
	ctx     context.Context
	cancel  context.CancelFunc
	events  chan registry.Event
	tenants *tenancy
	orch    *orchestrator.Orchestrator // nil unless the config has orchestrator:
	sum     *summary.Stream            // nil when summaries are off
	ana     *analytics.Handler         // the operator analytics page
	anaRed  *analytics.Redis           // nil without Redis
	caches  *cache.Set
	streams *streams
	stores  *chainstore.Set

	publicLn, adminLn net.Listener
	publicSrv         *fasthttp.Server // the public listener
	servers           []*http.Server   // the admin listener
	wg                sync.WaitGroup
	serveErr          chan error
}

// New builds the gateway and opens its registry; nothing runs until Start.
func New(cfg *config.Config, log *slog.Logger, version string) (*Gateway, error) {
	m := telemetry.NewMetrics(version)
	g := &Gateway{cfg: cfg, log: log, metrics: m, version: version, serveErr: make(chan error, 2), events: make(chan registry.Event, 1024)}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	none := []*fleet.Chain{}
	g.chains.Store(&none)
	store, err := openStore(g.ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	g.store = store
	lctx, lcancel := context.WithTimeout(g.ctx, 5*time.Second)
	entries, err := store.Load(lctx)
	lcancel()
	if err != nil {
		// Redis may be down at start: serve the config's nodes, and take
		// the registry's once Watch reaches it.
		log.Warn("node registry not readable at start; serving the config's nodes until it is", "err", err)
	}
	g.entries = entries
	g.tenants, err = newTenancy(cfg, m, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	if cfg.Orchestrator != nil {
		g.orch = orchestrator.New(orchestrator.Options{Config: *cfg.Orchestrator, Fleet: orchestrated{g}, Log: log.With("role", "orchestrator"),
			Registry: m.Registry})
	}
	exec := execute.New(log)
	if g.streams, err = g.newStreams(cfg, exec); err != nil {
		store.Close()
		g.tenants.close()
		return nil, err
	}
	g.caches = cache.NewSet(g.ctx, cache.NewMetrics(m.Registry), log)
	g.stores = chainstore.NewSet(g.ctx, chainstore.NewMetrics(m.Registry), log)
	fo := frontend.Options{Chains: route.NewChains(map[string]*fleet.Chain{}, nil, nil), Exec: exec,
		Limits: cfg.Limits, Log: log, Metrics: m, Tenancy: g.tenants.stage, Cache: g.caches, Local: g.streams.filters, Stores: g.stores,
		Pages: publicPages(cfg, &status.Handler{Source: withStores(status.FleetSource(g.Chains), g.stores), History: g.store, Series: storeSeries(g.store), Log: log, Reports: g.nodeReport}), Base: g.ctx,
		Sessions: session.New(session.Config{Size: cfg.Sessions.Size, Epoch: cfg.Sessions.Epoch.D(), ReadYourWrites: cfg.Sessions.ReadYourWrites.D()})}
	g.ana = &analytics.Handler{Rec: analytics.New(g.tenants.resolver.Cost, nil), Log: log}
	fo.Analytics = g.ana.Rec
	if g.tenants.redis != nil {
		prefix := cfg.Registry.Prefix
		if prefix == "" {
			prefix = registry.DefaultPrefix
		}
		g.anaRed = analytics.NewRedis(g.tenants.redis, prefix, g.ana.Rec, log)
		g.ana.Peers = g.anaRed.Peers
	}
	if cfg.Summaries.Enabled() {
		g.sum, err = summary.New(summary.Options{Config: cfg.Summaries, Log: log, Registry: m.Registry})
		if err != nil {
			store.Close()
			g.tenants.close()
			return nil, err
		}
		fo.Summaries = g.sum
	}
	g.public = frontend.New(fo)
	g.attachWS(cfg)
	if err := g.applyLocked(cfg, entries); err != nil {
		store.Close()
		g.tenants.close()
		if g.sum != nil {
			g.sum.Close(context.Background())
		}
		return nil, err
	}
	m.Registry.MustRegister(fleet.NewCollector(g.Chains))
	return g, nil
}

func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (registry.Store, error) {
	if cfg.Registry.File == "" && cfg.Registry.Redis == "" {
		log.Warn("no registry file or Redis configured: nodes added at run time will not survive a restart")
		return registry.NewMemory(), nil
	}
	return registry.Open(ctx, registry.Config{File: cfg.Registry.File, Redis: cfg.Registry.Redis, Prefix: cfg.Registry.Prefix}, log)
}

// applyLocked makes cfg plus entries the running state: chains are
// created, updated in place (unchanged nodes keep their state) or stopped,
// then the route table and limits are swapped. g.mu must be held (or g not
// yet shared).
func (g *Gateway) applyLocked(cfg *config.Config, entries []registry.Entry) error {
	old := map[string]*fleet.Chain{}
	for _, c := range g.Chains() {
		old[c.Name] = c
	}
	names := make([]string, 0, len(cfg.Chains))
	for name := range cfg.Chains {
		names = append(names, name)
	}
	sort.Strings(names)
	specs := map[string]fleet.Spec{}
	for _, name := range names {
		spec, err := g.spec(name, cfg, entries)
		if err != nil {
			return err
		}
		specs[name] = spec
	}
	byName := map[string]*fleet.Chain{}
	hosts := map[string]string{}
	var list []*fleet.Chain
	for _, name := range names {
		c := old[name]
		if c != nil {
			if err := c.Apply(specs[name]); err != nil {
				return err
			}
		} else {
			var err error
			if c, err = fleet.NewChain(name, specs[name], g.log, g.metrics); err != nil {
				return err
			}
			c.OnStateChange(g.recordState)
			if g.publicLn != nil { // already running: start its checkers now
				c.Start(g.ctx)
			}
		}
		byName[name] = c
		list = append(list, c)
		for _, h := range cfg.Chains[name].Hosts {
			hosts[strings.ToLower(h)] = name
		}
	}
	if err := g.stores.Apply(cfg); err != nil {
		return err
	}
	if err := g.caches.Apply(cfg, byName); err != nil {
		return err
	}
	g.chains.Store(&list)
	g.public.SetChains(route.NewChains(byName, hosts, names))
	g.public.SetLimits(cfg.Limits)
	g.public.SetTrustedProxies(cfg.Tenancy.TrustedProxies) // exempt from the per-IP limits
	g.applyStreamsLocked(cfg, list)
	for name, c := range old {
		if byName[name] == nil {
			c.Stop()
		}
	}
	g.cfg, g.entries = cfg, entries
	return nil
}

// spec merges the registry's entries into a chain's config. An entry that
// cannot apply (e.g. it names a group the new config dropped) is logged and
// skipped; the rest of the set still applies.
func (g *Gateway) spec(name string, cfg *config.Config, entries []registry.Entry) (fleet.Spec, error) {
	cc := cfg.Chains[name]
	nodes, groups, parked, err := registry.Merge(name, cc, entries)
	if err != nil {
		g.log.Warn("some run-time node changes do not apply to the config", "chain", name, "err", err)
	}
	for gn, members := range groups {
		if len(members) == 0 && !(cc.Groups[gn] != nil && cc.Groups[gn].Store && cc.Store.Reads()) {
			return fleet.Spec{}, fmt.Errorf("chain %s: group %s would have no nodes", name, gn)
		}
	}
	return fleet.Spec{Chain: cc, Nodes: nodes, Groups: groups, Parked: parked, Limits: cfg.Limits}, nil
}

// Start binds the listeners, starts node checkers and the registry watch,
// and serves. It returns once the listeners are bound.
func (g *Gateway) Start(ctx context.Context) error {
	// Read what start-up needs before the registry watch can swap g.cfg.
	g.mu.Lock()
	listen, adminListen, token, adminHosts := g.cfg.Listen, g.cfg.Admin.Listen, g.cfg.Admin.Token, g.cfg.Admin.AllowedHosts
	g.mu.Unlock()
	var err error
	g.publicLn, err = net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", listen, err)
	}
	if adminListen != "" {
		g.adminLn, err = net.Listen("tcp", adminListen)
		if err != nil {
			g.publicLn.Close()
			return fmt.Errorf("admin listen %s: %w", adminListen, err)
		}
	}
	go func() { // tie the gateway's own context to the caller's
		select {
		case <-ctx.Done():
			g.cancel()
		case <-g.ctx.Done():
		}
	}()
	for _, c := range g.Chains() {
		c.Start(g.ctx)
	}
	if g.orch != nil {
		if err := g.orch.Start(g.ctx); err != nil {
			g.publicLn.Close()
			if g.adminLn != nil {
				g.adminLn.Close()
			}
			return err
		}
	}
	if g.sum != nil {
		g.sum.Start()
	}
	g.servePublic()
	if g.adminLn != nil {
		extra := []admin.Mount{{Prefix: analytics.PagePath, Handler: g.ana}, {Prefix: analytics.JSONPath, Handler: g.ana}}
		if g.orch != nil {
			h := g.orch.AdminHandler()
			extra = append(extra, admin.Mount{Prefix: "/admin/orchestrator", Handler: h}, admin.Mount{Prefix: "/admin/orchestrator/", Handler: h})
		}
		g.serve(g.adminLn, adminPages(g.cfg.Snapshots, token, adminHosts,
			admin.Handler(token, g.metrics, g, admin.KeysHandler(g.tenants.admin, g.log), g.log, adminHosts, extra...)))
	}
	g.wg.Add(4)
	go func() {
		defer g.wg.Done()
		g.tenants.run(g.ctx)
	}()
	go func() {
		defer g.wg.Done()
		g.runStreams(g.ctx)
	}()
	go func() {
		defer g.wg.Done()
		g.store.Watch(g.ctx, g.entriesChanged)
	}()
	go func() {
		defer g.wg.Done()
		g.recordLoop(g.ctx)
	}()
	if g.anaRed != nil {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.anaRed.Run(g.ctx)
		}()
	}
	if series := storeSeries(g.store); series != nil {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			status.Sample(g.ctx, status.FleetSource(g.Chains), series, seriesInterval, nil, g.log)
		}()
	}
	g.log.Info("rpcgate serving", "listen", g.publicLn.Addr().String(), "admin", g.AdminAddr(), "chains", len(g.Chains()))
	return nil
}

// servePublic serves the JSON-RPC listener with fasthttp.
func (g *Gateway) servePublic() {
	g.publicSrv = g.public.HTTPServer(g.log)
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := g.publicSrv.Serve(g.public.Listener(g.publicLn)); err != nil && g.ctx.Err() == nil {
			g.serveErr <- err
		}
	}()
}

func (g *Gateway) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          telemetry.RedactingLogLogger(g.log.Handler(), slog.LevelDebug),
	}
	g.servers = append(g.servers, srv)
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.serveErr <- err
		}
	}()
}

// entriesChanged is the registry watch: another replica (or this one)
// changed the node set.
func (g *Gateway) entriesChanged(entries []registry.Entry) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.applyLocked(g.cfg, entries); err != nil {
		g.log.Error("cannot apply node registry change; keeping the current node set", "err", err)
	}
}

// ShutdownTimeout is the running config's shutdown_timeout.
func (g *Gateway) ShutdownTimeout() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cfg.ShutdownTimeout.D()
}

// Addr is the public listener's address.
func (g *Gateway) Addr() string { return g.publicLn.Addr().String() }

// AdminAddr is the admin listener's address, or "" when disabled.
func (g *Gateway) AdminAddr() string {
	if g.adminLn == nil {
		return ""
	}
	return g.adminLn.Addr().String()
}

// Chains returns the running chains, sorted by name.
func (g *Gateway) Chains() []*fleet.Chain { return *g.chains.Load() }

// Err reports a listener that failed while serving.
func (g *Gateway) Err() <-chan error { return g.serveErr }

// Shutdown stops accepting, lets the requests already accepted finish
// until ctx ends, then closes what is left and stops the node checkers and
// the registry. It reports an error only when requests were still in
// flight at the deadline. (http.Server.Shutdown alone would also wait out
// connections that were opened but never sent a request.)
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.public.SetReady(false)
	wsDone := make(chan error, 1)
	go func() { wsDone <- g.streams.gate.Shutdown(ctx) }() // close 1001, wait for connections
	if g.publicSrv != nil {
		// Closes the listener and idle connections now; busy ones answer
		// their request with Connection: close.
		go g.publicSrv.ShutdownWithContext(ctx)
	}
	for _, s := range g.servers {
		s.SetKeepAlivesEnabled(false)
		go s.Shutdown(ctx) // closes the listeners and idle connections now
	}
	t := time.NewTicker(10 * time.Millisecond)
	for g.public.InFlight() > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	t.Stop()
	left := g.public.InFlight()
	var errs []error
	if left > 0 {
		errs = append(errs, fmt.Errorf("%d requests still in flight at the shutdown deadline", left))
	}
	if err := <-wsDone; err != nil {
		errs = append(errs, fmt.Errorf("%d WebSocket connections still open at the shutdown deadline", g.streams.gate.Conns()))
	}
	for _, s := range g.servers {
		s.Close()
	}
	if g.orch != nil {
		g.orch.Stop()
	}
	if g.sum != nil {
		// Queued summaries go to the broker within what is left of the
		// deadline, the rest to the disk buffer.
		if err := g.sum.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("summaries: %w", err))
		}
	}
	g.cancel()
	// fasthttp's Shutdown closes only the listeners Serve has registered:
	// when Shutdown comes right after Start, Serve may not have reached
	// Accept yet and would then block there for good. Closing the listener
	// here ends Serve in every order (a second Close is harmless).
	if g.publicLn != nil {
		g.publicLn.Close()
	}
	g.wg.Wait()
	g.caches.Stop()
	g.stores.Stop()
	for _, c := range g.Chains() {
		c.Stop()
	}
	if err := g.store.Close(); err != nil {
		errs = append(errs, err)
	}
	g.tenants.close()
	g.closeStreams()
	return errors.Join(errs...)
}
