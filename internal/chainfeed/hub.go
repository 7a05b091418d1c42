package chainfeed

import (
	"context"
	"log/slog"
	"sync"

	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/fleet"
)

// Hub runs one feed per chain and follows the chain set through reloads.
type Hub struct {
	exec *execute.Executor
	log  *slog.Logger
	m    *Metrics
	set  Settings

	mu    sync.Mutex
	ctx   context.Context
	feeds map[string]*running
	wg    sync.WaitGroup
}

type running struct {
	feed   *Feed
	cancel context.CancelFunc
}

// NewHub returns a hub; feeds start with Start.
func NewHub(exec *execute.Executor, log *slog.Logger, m *Metrics, set Settings) *Hub {
	return &Hub{exec: exec, log: log, m: m, set: set, feeds: map[string]*running{}}
}

// Start runs feeds for chains (and for those Sync adds later) until ctx
// ends or Stop.
func (h *Hub) Start(ctx context.Context, chains []*fleet.Chain) {
	h.mu.Lock()
	h.ctx = ctx
	h.mu.Unlock()
	h.Sync(chains)
}

// Sync starts feeds for new chains and stops those of removed ones. Before
// Start it only records nothing.
func (h *Hub) Sync(chains []*fleet.Chain) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx == nil {
		return
	}
	keep := map[string]bool{}
	for _, c := range chains {
		keep[c.Name] = true
		if r, ok := h.feeds[c.Name]; ok && r.feed.chain == c {
			continue
		} else if ok {
			r.cancel()
		}
		f := New(c, h.exec, h.log, h.m, h.set)
		ctx, cancel := context.WithCancel(h.ctx)
		h.feeds[c.Name] = &running{feed: f, cancel: cancel}
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			f.Run(ctx)
		}()
	}
	for name, r := range h.feeds {
		if !keep[name] {
			r.cancel()
			delete(h.feeds, name)
		}
	}
}

// Feed is the chain's feed, or nil.
func (h *Hub) Feed(chain string) *Feed {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r, ok := h.feeds[chain]; ok {
		return r.feed
	}
	return nil
}

// Stop stops every feed and waits for them.
func (h *Hub) Stop() {
	h.mu.Lock()
	for _, r := range h.feeds {
		r.cancel()
	}
	h.feeds = map[string]*running{}
	// A Sync after Stop (a registry change arriving during shutdown) must
	// start nothing: a WaitGroup must not be added to while Wait runs.
	h.ctx = nil
	h.mu.Unlock()
	h.wg.Wait()
}
