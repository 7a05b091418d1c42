package cache

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sync"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/fleet"
)

// Set holds the caches of every chain that has one. Apply follows config
// reloads; a chain whose cache settings did not change keeps its entries.
type Set struct {
	m   *Metrics
	log *slog.Logger

	mu     sync.Mutex
	ctx    context.Context
	chains map[string]*running
	view   map[string]*Chain // read by requests; replaced whole under mu
	viewMu sync.RWMutex
}

type running struct {
	c      *Chain
	fc     *fleet.Chain
	cfg    config.Cache
	depth  uint64
	logs   map[string]uint64
	cancel context.CancelFunc
	done   chan struct{}
}

// NewSet returns an empty set whose trackers run under ctx.
func NewSet(ctx context.Context, m *Metrics, log *slog.Logger) *Set {
	return &Set{m: m, log: log, ctx: ctx, chains: map[string]*running{}, view: map[string]*Chain{}}
}

// For is the cache of chain name, nil when it has none.
func (s *Set) For(name string) *Chain {
	s.viewMu.RLock()
	defer s.viewMu.RUnlock()
	return s.view[name]
}

// Apply makes the set match cfg: caches are created for chains that turn
// one on, kept for chains whose settings are unchanged, and stopped for the
// rest.
func (s *Set) Apply(cfg *config.Config, chains map[string]*fleet.Chain) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := map[string]*running{}
	for name, cc := range cfg.Chains {
		fc := chains[name]
		if cc.Cache == nil || fc == nil {
			continue
		}
		if r := s.chains[name]; r != nil && r.fc == fc && reflect.DeepEqual(r.cfg, *cc.Cache) && r.depth == *cc.FinalityDepth && reflect.DeepEqual(r.logs, logsRanges(cc)) {
			next[name] = r
			continue
		}
		c := newChain(name, fc, cc, s.m)
		if cc.Cache.Redis != "" {
			rt, err := newRedisTier(cc.Cache.Redis, cc.Cache.RedisPrefix, name)
			if err != nil {
				return fmt.Errorf("chains.%s.cache.redis: %w", name, err)
			}
			c.redis = rt
		}
		ctx, cancel := context.WithCancel(s.ctx)
		r := &running{c: c, fc: fc, cfg: *cc.Cache, depth: *cc.FinalityDepth, logs: logsRanges(cc), cancel: cancel, done: make(chan struct{})}
		go func() {
			defer close(r.done)
			c.fin.run(ctx, cc.Cache.FinalityPoll.D())
		}()
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

func (r *running) stop() {
	r.cancel()
	<-r.done
	r.c.mem.StopAllGoroutines()
	if r.c.redis != nil {
		r.c.redis.close()
	}
}

// Stop ends every tracker and waits for them.
func (s *Set) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.chains {
		r.stop()
	}
	s.chains = map[string]*running{}
}
