package status

import (
	"context"
	"log/slog"
	"time"
)

// Watch samples source every interval and records an Event whenever a
// node changes between up and down (see isUp), plus each node's first
// known state, so uptime is observed from the moment a gateway starts. It
// returns when ctx is done; run it in a goroutine and join it on shutdown.
//
// Every replica watching the same fleet records what it sees; repeats are
// harmless (uptime and incidents skip them).
func Watch(ctx context.Context, source func() []ChainView, rec History, interval time.Duration, now func() time.Time, log *slog.Logger) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	type key struct{ chain, node string }
	last := map[key]bool{}
	sample := func() {
		at := now()
		for _, c := range source() {
			for _, n := range c.Nodes {
				up, known := isUp(n.State)
				if !known {
					continue
				}
				k := key{c.Name, n.Name}
				if prev, seen := last[k]; seen && prev == up {
					continue
				}
				e := Event{Chain: c.Name, Node: n.Name, Up: up, At: at, Reason: n.State}
				if err := rec.Record(ctx, e); err != nil {
					if ctx.Err() != nil {
						return
					}
					// Not remembered: the next sample tries again.
					log.Warn("status: record node event", "chain", c.Name, "node", n.Name, "up", up, "err", err)
					continue
				}
				last[k] = up
			}
		}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	sample()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sample()
		}
	}
}
