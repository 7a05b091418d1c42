package store

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rpcgate/rpcgate/internal/config"
)

// Metrics are the store's collectors.
type Metrics struct {
	Served      *prometheus.CounterVec // chain, method
	FellThrough *prometheus.CounterVec // chain, method, reason
	Highest     *prometheus.GaugeVec   // chain
	Lag         *prometheus.GaugeVec   // chain
	Rows        *prometheus.GaugeVec   // chain, table
	Leader      *prometheus.GaugeVec   // chain
	Written     *prometheus.CounterVec // chain
}

// NewMetrics registers the store's collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Served: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_store_served_total",
			Help: "Calls answered from the chain store, by chain and method."}, []string{"chain", "method"}),
		FellThrough: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_store_fallthrough_total",
			Help: "Calls the store could have served that went to nodes, by chain, method and reason (missing, unavailable, slow)."}, []string{"chain", "method", "reason"}),
		Highest: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_store_highest_block",
			Help: "Highest block held by the chain store."}, []string{"chain"}),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_store_ingest_lag_blocks",
			Help: "Finalized block minus the store's highest block, as seen by this process's writer."}, []string{"chain"}),
		Rows: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_store_rows",
			Help: "Rows in the chain store, by chain and table (blocks, transactions, receipts, logs)."}, []string{"chain", "table"}),
	}
	m.Leader = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_store_writer_leader",
		Help: "1 while this process's store writer holds the store's advisory lock (the one writer that writes), else 0."}, []string{"chain"})
	m.Written = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_store_blocks_written_total",
		Help: "Blocks this process's store writer wrote into the chain store (0 in a process that never held the lock)."}, []string{"chain"})
	reg.MustRegister(m.Served, m.FellThrough, m.Highest, m.Lag, m.Rows, m.Leader, m.Written)
	return m
}

// Chain is one chain's store as the pipeline uses it.
type Chain struct {
	Name    string
	Reader  *Reader // nil when the role does not read
	Timeout time.Duration
	M       *Metrics
	// Writer is set when this process ingests (role writer or both).
	Writer *Writer
	// highest and up are the last stats round's view, for the status page.
	highest atomic.Uint64
	up      atomic.Bool
}

// Seen is the store's highest block and whether it answered the last
// stats round (every 5s).
func (c *Chain) Seen() (highest uint64, up bool) { return c.highest.Load(), c.up.Load() }

// Set holds the chains' stores; Apply makes it match a config.
type Set struct {
	ctx    context.Context
	log    *slog.Logger
	m      *Metrics
	mu     sync.Mutex
	chains map[string]*running
	viewMu sync.RWMutex
	view   map[string]*Chain
}

type running struct {
	c      *Chain
	cfg    config.Store
	src    string
	st     *Store
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewSet returns an empty set.
func NewSet(ctx context.Context, m *Metrics, log *slog.Logger) *Set {
	return &Set{ctx: ctx, log: log, m: m, chains: map[string]*running{}}
}

// For is chain name's store, nil when it has none.
func (s *Set) For(name string) *Chain {
	if s == nil {
		return nil
	}
	s.viewMu.RLock()
	defer s.viewMu.RUnlock()
	return s.view[name]
}

// Apply opens stores for chains that configure one, keeps unchanged ones
// and closes the rest. Opening never waits for the database: a store that
// is down is found out per call.
func (s *Set) Apply(cfg *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := map[string]*running{}
	for name, cc := range cfg.Chains {
		if cc.Store == nil {
			continue
		}
		src := firstNodeURL(cc)
		if r := s.chains[name]; r != nil && r.cfg == *cc.Store && r.src == src {
			next[name] = r
			continue
		}
		st, err := Open(s.ctx, Options{URL: cc.Store.Postgres, Schema: cc.Store.Schema})
		if err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(s.ctx)
		r := &running{cfg: *cc.Store, src: src, st: st, cancel: cancel,
			c: &Chain{Name: name, Timeout: cc.Store.Timeout.D(), M: s.m}}
		if cc.Store.Reads() {
			r.c.Reader = &Reader{Store: st}
		}
		if cc.Store.Writes() && src != "" {
			w := &Writer{Store: st, Source: &Source{URL: src}, Depth: *cc.FinalityDepth, Log: s.log.With("chain", name, "role", "store-writer"),
				Lag: s.m.Lag.WithLabelValues(name), LeaderGauge: s.m.Leader.WithLabelValues(name)}
			s.m.Leader.WithLabelValues(name).Set(0)
			written := s.m.Written.WithLabelValues(name)
			w.OnWrite = func(uint64) { written.Inc() }
			r.c.Writer = w
			r.wg.Go(func() { w.Run(ctx) })
		}
		c := r.c
		r.wg.Go(func() { s.stats(ctx, c, st) })
		next[name] = r
	}
	for name, r := range s.chains {
		if next[name] != r {
			r.stop()
		}
	}
	s.chains = next
	view := map[string]*Chain{}
	for name, r := range next {
		view[name] = r.c
	}
	s.viewMu.Lock()
	s.view = view
	s.viewMu.Unlock()
	return nil
}

// firstNodeURL is the node the writer reads from: the first by name.
func firstNodeURL(cc *config.Chain) string {
	for _, n := range slices.Sorted(maps.Keys(cc.Nodes)) {
		if cc.Nodes[n] != nil && cc.Nodes[n].URL != "" {
			return cc.Nodes[n].URL
		}
	}
	return ""
}

// stats refreshes the highest-block and row gauges.
func (s *Set) stats(ctx context.Context, c *Chain, st *Store) {
	chain := c.Name
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		v, err := st.Stat(qctx)
		c.up.Store(err == nil)
		if err == nil {
			if !v.Empty {
				c.highest.Store(v.Highest)
				s.m.Highest.WithLabelValues(chain).Set(float64(v.Highest))
			}
			s.m.Rows.WithLabelValues(chain, "blocks").Set(float64(v.Blocks))
			s.m.Rows.WithLabelValues(chain, "transactions").Set(float64(v.Txs))
			s.m.Rows.WithLabelValues(chain, "receipts").Set(float64(v.Receipts))
			s.m.Rows.WithLabelValues(chain, "logs").Set(float64(v.Logs))
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *running) stop() {
	r.cancel()
	r.wg.Wait()
	r.st.Close()
}

// Stop closes every store and waits for writers.
func (s *Set) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.chains {
		r.stop()
	}
	s.chains = map[string]*running{}
}

// Members is each chain's store for the status page: name, highest block
// and whether it answered.
func (s *Set) Members() map[string]*Chain {
	s.viewMu.RLock()
	defer s.viewMu.RUnlock()
	return maps.Clone(s.view)
}
