package chainfeed

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/rpc"
)

// followUpstreams keeps one WebSocket follower per node that has a ws URL,
// reconciling the set with the chain's nodes every few seconds (reloads
// and run-time changes add and remove nodes).
func (f *Feed) followUpstreams(ctx context.Context) {
	type running struct {
		url    string
		cancel context.CancelFunc
	}
	var wg sync.WaitGroup
	live := map[string]running{}
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		want := map[string]string{}
		headers := map[string]map[string]string{}
		for _, n := range f.chain.Nodes() {
			if s := n.Spec(); s.WS != "" {
				want[n.Name()], headers[n.Name()] = s.WS, s.Headers
			}
		}
		for name, r := range live {
			if want[name] != r.url {
				r.cancel()
				delete(live, name)
			}
		}
		for name, url := range want {
			if _, ok := live[name]; ok {
				continue
			}
			cctx, cancel := context.WithCancel(ctx)
			live[name] = running{url: url, cancel: cancel}
			wg.Add(2)
			go func() { defer wg.Done(); f.follow(cctx, name, url, headers[name], "newHeads") }()
			go func() { defer wg.Done(); f.follow(cctx, name, url, headers[name], "newPendingTransactions") }()
		}
		select {
		case <-ctx.Done():
			for _, r := range live {
				r.cancel()
			}
			wg.Wait()
			return
		case <-t.C:
		}
	}
}

// follow holds one subscription of kind on a node, resubscribing after
// any failure: newHeads wakes the feed, newPendingTransactions feeds the
// pending window.
func (f *Feed) follow(ctx context.Context, name, url string, headers map[string]string, kind string) {
	first := true
	for ctx.Err() == nil {
		if !first {
			f.m.resubscribes.WithLabelValues(f.chain.Name, name, kind).Inc()
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		first = false
		f.followOnce(ctx, url, headers, kind)
	}
}

func (f *Feed) followOnce(ctx context.Context, url string, headers map[string]string, kind string) {
	h := http.Header{}
	for k, v := range headers {
		h.Set(k, v)
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	c, err := rpc.DialOptions(dctx, url, rpc.WithHeaders(h))
	cancel()
	if err != nil {
		return
	}
	defer c.Close()
	ch := make(chan json.RawMessage, 64)
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	sub, err := c.EthSubscribe(sctx, ch, kind)
	cancel()
	if err != nil {
		return
	}
	defer sub.Unsubscribe()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.Err():
			return
		case msg := <-ch:
			if kind == "newHeads" {
				f.Wake()
			} else {
				f.publishPending(msg)
			}
		}
	}
}
