package cache

// Finality: the chain's finalized block, learned from its nodes, and the
// recent canonical hashes used to notice reorgs.

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rpcgate/rpcgate/internal/evm"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/schedule"
)

// probeFinality asks a node for its finalized, safe and latest blocks in
// one batch.
var probeFinality = []byte(`[{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["finalized",false]},` +
	`{"jsonrpc":"2.0","id":2,"method":"eth_getBlockByNumber","params":["safe",false]},` +
	`{"jsonrpc":"2.0","id":3,"method":"eth_getBlockByNumber","params":["latest",false]}]`)

// Finality tracks a chain's finalized block. The finalized block is the
// highest one that a majority of the healthy nodes report as finalized
// (or beyond); when no majority reports one, it is depth blocks below the
// best head. It never goes backwards.
type Finality struct {
	chain *fleet.Chain
	depth atomic.Uint64
	fin   atomic.Uint64
	safe  atomic.Uint64
	known atomic.Bool // a majority reported a finalized block at least once

	mu     sync.Mutex
	hashes map[uint64]string // recent canonical block hashes (quoted, lower case) by number
	// onReorg hears the hashes a reorg replaced.
	onReorg func(replaced []string)
	onFinal func(fin, safe uint64)
}

// Finalized is the chain's finalized block number.
func (f *Finality) Finalized() uint64 {
	v := f.fin.Load()
	if d := f.depth.Load(); !f.known.Load() {
		if b := f.chain.BestHead(); b > d && b-d > v {
			return b - d
		}
	}
	return v
}

// IsFinal reports whether block n is at or below the finalized block.
func (f *Finality) IsFinal(n uint64) bool { return n <= f.Finalized() }

// Canonical reports the known canonical hash at n ("" when unknown).
func (f *Finality) Canonical(n uint64) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hashes[n]
}

// run polls every healthy node each interval until ctx is done.
func (f *Finality) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		f.poll(ctx, every)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type report struct {
	n           *node.Node
	fin, safe   uint64
	finOK       bool
	head        uint64
	hash, paren string
}

func (f *Finality) poll(ctx context.Context, every time.Duration) {
	var reps []report
	healthy := 0
	for _, n := range f.chain.Nodes() {
		if !f.chain.Selectable(n) {
			continue
		}
		healthy++
		if r, ok := probe(ctx, n, every); ok {
			r.n = n
			reps = append(reps, r)
		}
	}
	for _, r := range reps {
		if r.hash != "" {
			f.recheck(ctx, r.n, r.head, every)
			f.observeHead(r.head, r.hash, r.paren)
		}
	}
	var fins, safes []uint64
	for _, r := range reps {
		if r.finOK {
			fins = append(fins, r.fin)
			safes = append(safes, r.safe)
		}
	}
	need := healthy/2 + 1
	if len(fins) >= need && healthy > 0 {
		f.known.Store(true)
		f.raise(&f.fin, majority(fins, need))
		f.raise(&f.safe, majority(safes, need))
	} else if b, d := f.chain.BestHead(), f.depth.Load(); b > d {
		f.raise(&f.fin, b-d)
	}
	f.prune()
	if f.onFinal != nil {
		f.onFinal(f.Finalized(), f.safe.Load())
	}
}

// majority is the highest value that at least need of vs reach.
func majority(vs []uint64, need int) uint64 {
	slices.Sort(vs)
	slices.Reverse(vs)
	return vs[need-1]
}

func (f *Finality) raise(v *atomic.Uint64, to uint64) {
	for {
		cur := v.Load()
		if to <= cur || v.CompareAndSwap(cur, to) {
			return
		}
	}
}

// observeHead records a node's head block and reports the hashes it
// replaces: a different hash at the same height, or a different parent
// one below, means the chain reorganised there.
func (f *Finality) observeHead(num uint64, hash, parent string) {
	var replaced []string
	f.mu.Lock()
	if f.hashes == nil {
		f.hashes = map[uint64]string{}
	}
	if old, ok := f.hashes[num]; ok && old != hash {
		replaced = append(replaced, old)
		for n, h := range f.hashes { // everything above a replaced block is gone too
			if n > num {
				replaced = append(replaced, h)
				delete(f.hashes, n)
			}
		}
	}
	if num > 0 {
		if old, ok := f.hashes[num-1]; ok && old != parent {
			replaced = append(replaced, old)
		}
		f.hashes[num-1] = parent
	}
	f.hashes[num] = hash
	f.mu.Unlock()
	if len(replaced) > 0 && f.onReorg != nil {
		f.onReorg(replaced)
	}
}

// maxRecheck bounds how many known heights one poll re-reads per node.
const maxRecheck = 64

// recheck re-reads, from node n, the hashes of the known heights below
// its head: a fork that grew by several blocks between two polls shares no
// height with the last head seen, and only this notices that it replaced
// blocks further down.
func (f *Finality) recheck(ctx context.Context, n *node.Node, head uint64, timeout time.Duration) {
	fin := f.Finalized()
	f.mu.Lock()
	var heights []uint64
	for h := range f.hashes {
		if h > fin && h < head {
			heights = append(heights, h)
		}
	}
	f.mu.Unlock()
	if len(heights) == 0 {
		return
	}
	slices.Sort(heights)
	if len(heights) > maxRecheck {
		heights = heights[len(heights)-maxRecheck:]
	}
	body := []byte{'['}
	for i, h := range heights {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"jsonrpc":"2.0","id":`...)
		body = strconv.AppendUint(body, h, 10)
		body = append(body, `,"method":"eth_getBlockByNumber","params":[`...)
		body = evm.AppendQuantity(body, h)
		body = append(body, `,false]}`...)
	}
	body = append(body, ']')
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := n.Send(ctx, &node.Call{Class: schedule.High, Deadline: time.Now().Add(timeout), Body: body, Background: true}) // background: never queues behind clients
	if err != nil {
		return
	}
	defer resp.Release()
	rs, err := jsonrpc.ScanResponseBatch(resp.Body, nil)
	if err != nil {
		return
	}
	for _, x := range rs {
		num, ok := blockField(x.Result, "number")
		hash, hok := jsonrpc.ObjectMember(x.Result, "hash")
		if x.Err != nil || !ok || !hok || !isHash(hash) {
			continue
		}
		f.observeAt(num, lowerHash(hash))
	}
}

// observeAt records the canonical hash at num, reporting a reorg when it
// differs from the one known.
func (f *Finality) observeAt(num uint64, hash string) {
	var replaced []string
	f.mu.Lock()
	if f.hashes == nil {
		f.hashes = map[uint64]string{}
	}
	if old, ok := f.hashes[num]; ok && old != hash {
		replaced = append(replaced, old)
		for n, h := range f.hashes {
			if n > num {
				replaced = append(replaced, h)
				delete(f.hashes, n)
			}
		}
	}
	f.hashes[num] = hash
	f.mu.Unlock()
	if len(replaced) > 0 && f.onReorg != nil {
		f.onReorg(replaced)
	}
}

// prune forgets hashes at or below the finalized block (they cannot be
// replaced) beyond a small margin.
func (f *Finality) prune() {
	fin := f.Finalized()
	f.mu.Lock()
	defer f.mu.Unlock()
	for n := range f.hashes {
		if n+16 < fin {
			delete(f.hashes, n)
		}
	}
}

// probe asks one node for its finality and head.
func probe(ctx context.Context, n *node.Node, timeout time.Duration) (report, bool) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := n.Send(ctx, &node.Call{Class: schedule.High, Deadline: time.Now().Add(timeout), Body: probeFinality, Background: true})
	if err != nil {
		return report{}, false
	}
	defer resp.Release()
	rs, err := jsonrpc.ScanResponseBatch(resp.Body, nil)
	if err != nil {
		return report{}, false
	}
	var r report
	for _, x := range rs {
		if x.Err != nil || x.Result == nil || string(x.Result) == "null" {
			continue
		}
		num, ok := blockField(x.Result, "number")
		if !ok {
			continue
		}
		switch string(x.ID) {
		case "1":
			r.fin, r.finOK = num, true
		case "2":
			r.safe = num
		case "3":
			h, _ := jsonrpc.ObjectMember(x.Result, "hash")
			p, _ := jsonrpc.ObjectMember(x.Result, "parentHash")
			if isHash(h) && isHash(p) {
				r.head, r.hash, r.paren = num, lowerHash(h), lowerHash(p)
			}
		}
	}
	return r, true
}

// blockField reads a quantity member of a block, transaction or receipt.
func blockField(obj []byte, name string) (uint64, bool) {
	if len(obj) == 0 || obj[0] != '{' {
		return 0, false
	}
	v, ok := jsonrpc.ObjectMember(obj, name)
	if !ok {
		return 0, false
	}
	return evm.ParseQuantity(v)
}
