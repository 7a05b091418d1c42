package chainfeed

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/schedule"
)

// Event is one change of the canonical chain: the blocks a reorg dropped
// (oldest first), then the blocks that became canonical (oldest first).
// Listeners must not modify it.
type Event struct {
	Removed []*Block
	Added   []*Block
}

// Listener receives the feed's events. Its methods are called from the
// feed's goroutine, one event at a time, and must not block.
type Listener interface {
	Blocks(ev *Event)
	Pending(tx json.RawMessage)
}

// Settings tune a feed.
type Settings struct {
	// Depth is how many recent canonical blocks (and dropped ones) are
	// kept for reorgs and filter polls. Default 256.
	Depth int
	// Poll is how often the fleet's heads are compared with the feed's
	// tip. Default 250ms.
	Poll time.Duration
	// Check is how often the best node's latest block is fetched even when
	// no head number moved (a same-height reorg). Default 2s.
	Check time.Duration
}

func (s *Settings) defaults() {
	if s.Depth <= 0 {
		s.Depth = 256
	}
	if s.Poll <= 0 {
		s.Poll = 250 * time.Millisecond
	}
	if s.Check <= 0 {
		s.Check = 2 * time.Second
	}
}

// Feed follows one chain.
type Feed struct {
	chain *fleet.Chain
	exec  *execute.Executor
	log   *slog.Logger
	m     *Metrics
	set   Settings

	wake   chan struct{}
	syncMu sync.Mutex // one sync at a time (Run, or EnsureTip)

	mu   sync.RWMutex // guards ring
	ring *ring

	lmu       sync.RWMutex
	listeners map[Listener]struct{}

	pending *window
}

// New returns a feed for c; it runs with Run.
func New(c *fleet.Chain, exec *execute.Executor, log *slog.Logger, m *Metrics, set Settings) *Feed {
	set.defaults()
	return &Feed{chain: c, exec: exec, log: log.With("chain", c.Name), m: m, set: set,
		wake: make(chan struct{}, 1), ring: newRing(set.Depth),
		listeners: map[Listener]struct{}{}, pending: newWindow(4096)}
}

// Chain is the followed chain.
func (f *Feed) Chain() *fleet.Chain { return f.chain }

// Listen adds l; the returned function removes it.
func (f *Feed) Listen(l Listener) (cancel func()) {
	f.lmu.Lock()
	f.listeners[l] = struct{}{}
	f.lmu.Unlock()
	return func() {
		f.lmu.Lock()
		delete(f.listeners, l)
		f.lmu.Unlock()
	}
}

// Tip is the newest canonical block, or nil before the first.
func (f *Feed) Tip() *Block {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.ring.tip()
}

// Since reports the changes after a reader's last seen block; ok is false
// when the feed no longer (or not yet) holds that block.
func (f *Feed) Since(n uint64, hash string) (removed, added []*Block, ok bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.ring.since(n, hash)
}

// Wake asks for an immediate check (a node announced a head).
func (f *Feed) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Run follows the chain until ctx ends.
func (f *Feed) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f.followUpstreams(ctx)
	}()
	defer wg.Wait()
	poll := time.NewTicker(f.set.Poll)
	defer poll.Stop()
	lastCheck := time.Time{}
	force := true // the first head at once
	for {
		if !force {
			select {
			case <-ctx.Done():
				return
			case <-f.wake:
				force = true
			case <-poll.C:
			}
		}
		tip := f.Tip()
		if tip == nil || force || f.bestHead() > tip.Number || time.Since(lastCheck) >= f.set.Check {
			lastCheck = time.Now()
			if err := f.sync(ctx); err != nil && ctx.Err() == nil {
				f.log.Debug("chain feed: no node gave a usable head", "err", err)
			}
		}
		force = false
	}
}

// bestHead is the highest head any usable node reported.
func (f *Feed) bestHead() uint64 {
	var best uint64
	for _, n := range f.chain.Nodes() {
		if n.Usable() && n.Head() > best {
			best = n.Head()
		}
	}
	return best
}

// candidates are the nodes to read heads from, highest head first; usable
// nodes before the others.
func (f *Feed) candidates() []*node.Node {
	ns := append([]*node.Node(nil), f.chain.Nodes()...)
	sort.SliceStable(ns, func(i, j int) bool {
		ui, uj := ns[i].Usable(), ns[j].Usable()
		if ui != uj {
			return ui
		}
		return ns[i].Head() > ns[j].Head()
	})
	return ns
}

// EnsureTip gives the feed its first head now when it has none yet (a
// filter created right after start needs a cursor).
func (f *Feed) EnsureTip(ctx context.Context) *Block {
	if t := f.Tip(); t != nil {
		return t
	}
	_ = f.sync(ctx)
	return f.Tip()
}

func (f *Feed) sync(ctx context.Context) error {
	f.syncMu.Lock()
	defer f.syncMu.Unlock()
	var errs []error
	for _, n := range f.candidates() {
		head, err := f.block(ctx, n, "eth_getBlockByNumber", `"latest"`)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := f.advance(ctx, n, head); err != nil {
			errs = append(errs, err)
			continue
		}
		return nil
	}
	return errors.Join(errs...)
}

// maxWalk bounds how far back a gap or reorg is walked by parent hash.
const maxWalk = 128

// advance makes head (read from n) the tip: gaps are filled and reorgs
// walked back to the fork point through n, logs are fetched, and one
// event goes out.
func (f *Feed) advance(ctx context.Context, n *node.Node, head *Block) error {
	f.mu.RLock()
	tip := f.ring.tip()
	known := f.ring.has(head.Hash)
	f.mu.RUnlock()
	if known || (tip != nil && head.Number <= tip.Number) {
		return nil // nothing new, or a node behind (or on a shorter fork)
	}
	chain := []*Block{head}
	if tip != nil {
		for len(chain) < maxWalk {
			b := chain[0]
			if b.Number == 0 {
				break
			}
			f.mu.RLock()
			c := f.ring.at(b.Number - 1)
			f.mu.RUnlock()
			if c == nil && b.Number-1 > tip.Number {
				// fill the gap
			} else if c == nil || c.Hash == b.Parent {
				break
			}
			p, err := f.block(ctx, n, "eth_getBlockByHash", strconv.Quote(b.Parent))
			if err != nil {
				return err
			}
			chain = append([]*Block{p}, chain...)
		}
	}
	for _, b := range chain {
		if tip == nil {
			// The first head is where the feed starts: nobody reads its
			// logs (subscribers and filters get later blocks), so they
			// are not fetched.
			break
		}
		logs, err := f.logs(ctx, n, b)
		if err != nil {
			return err
		}
		b.Logs = logs
	}
	f.mu.Lock()
	removed := f.ring.truncateFrom(chain[0].Number)
	for _, b := range chain {
		f.ring.push(b)
	}
	f.mu.Unlock()
	if tip != nil {
		if len(removed) > 0 {
			f.m.reorgs.WithLabelValues(f.chain.Name).Inc()
			f.log.Info("chain reorganised", "depth", len(removed), "fork", chain[0].Number-1, "head", head.Number)
		}
		if gap := len(chain) - 1 - len(removed); gap > 0 {
			f.m.gaps.WithLabelValues(f.chain.Name).Add(float64(gap))
		}
	}
	f.m.head.WithLabelValues(f.chain.Name).Set(float64(head.Number))
	if tip == nil {
		// The first head is where the feed starts, not news: subscribers
		// get blocks that arrive after they subscribed, as from a node.
		f.log.Info("chain feed following", "head", head.Number, "node", n.Name())
		return nil
	}
	ev := &Event{Removed: removed, Added: chain}
	f.lmu.RLock()
	for l := range f.listeners {
		l.Blocks(ev)
	}
	f.lmu.RUnlock()
	return nil
}

// block fetches a block header from n directly: heads must come from one
// node's consistent view while a reorg is walked.
func (f *Feed) block(ctx context.Context, n *node.Node, method, arg string) (*Block, error) {
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":[` + arg + `,false]}`)
	res, err := f.call(ctx, n, body)
	if err != nil {
		return nil, err
	}
	return parseBlock(res)
}

func (f *Feed) call(ctx context.Context, n *node.Node, body []byte) ([]byte, error) {
	deadline := time.Now().Add(f.chain.Timeout())
	cctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	// The gateway's own background read takes a free worker slot or none:
	// it never queues behind (or in the queue depth of) client traffic;
	// the next poll tries again, and sync tries the other nodes first.
	resp, err := n.Send(cctx, &node.Call{Class: schedule.High, Deadline: deadline, Body: body, Background: true})
	if err != nil {
		return nil, err
	}
	defer resp.Release()
	r, err := jsonrpc.ScanResponse(resp.Body)
	if err != nil {
		return nil, err
	}
	if r.Err != nil {
		return nil, r.Err
	}
	return append([]byte(nil), r.Result...), nil
}

// logs fetches a block's logs by hash through normal routing (the
// eth_getLogs group, retries, failover); the node that gave the header
// is the last resort.
func (f *Feed) logs(ctx context.Context, n *node.Node, b *Block) ([]*Log, error) {
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_getLogs","params":[{"blockHash":"` + b.Hash + `"}]}`)
	var lastErr error
	for try := 0; try < 3; try++ {
		res, err := f.route(ctx, body)
		if err == nil {
			return parseLogs(res)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	res, err := f.call(ctx, n, body)
	if err != nil {
		return nil, errors.Join(lastErr, err)
	}
	return parseLogs(res)
}

// route runs one call through the executor (normal routing).
func (f *Feed) route(ctx context.Context, body []byte) ([]byte, error) {
	return Route(ctx, f.exec, f.chain, body)
}

// Route runs one JSON-RPC call (body) on c through the executor, the way
// a client call is routed, and returns its result.
func Route(ctx context.Context, exec *execute.Executor, c *fleet.Chain, body []byte) ([]byte, error) {
	reqs, _, derr := jsonrpc.Decode(body, 1)
	if derr != nil {
		return nil, derr
	}
	req := &reqs[0]
	ans := exec.Single(ctx, c, c.Group(req.Method), schedule.High, req, body, nil)
	defer ans.Release()
	if ans.Err != nil {
		return nil, ans.Err
	}
	r, err := jsonrpc.ScanResponse(ans.Body)
	if err != nil {
		return nil, err
	}
	if r.Err != nil {
		return nil, r.Err
	}
	return append([]byte(nil), r.Result...), nil
}

// publishPending hands a pending transaction (hash or object) to the
// listeners once per window.
func (f *Feed) publishPending(tx json.RawMessage) {
	if !f.pending.add(pendingKey(tx)) {
		return
	}
	f.lmu.RLock()
	for l := range f.listeners {
		l.Pending(tx)
	}
	f.lmu.RUnlock()
}

// After is the canonical blocks numbered above n that the feed holds.
func (f *Feed) After(n uint64) []*Block {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.ring.after(n)
}
