package watch

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
	// pubsubCheck is how long a quiet subscription may go before it is
	// PINGed, so a dead connection is noticed and re-established.
	pubsubCheck = 3 * time.Second
)

// Redis calls fn with a freshly loaded set after every message on channel
// and after every (re)subscription, which go-redis's PubSub confirms each
// time it has reconnected, so nothing changed while Redis was away is
// missed. A failed load is retried with backoff, and fn only ever sees a
// set that was actually read. It blocks until ctx ends. what names the set
// in logs ("node set", "keys").
func Redis[T any](ctx context.Context, c redis.UniversalClient, channel string, load func(context.Context) (T, error), fn func(T), log *slog.Logger, what string) {
	ps := c.Subscribe(ctx, channel) // keeps retrying while Redis is down
	msgs := ps.ChannelWithSubscriptions(redis.WithChannelHealthCheckInterval(pubsubCheck))
	dirty := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for m := range msgs { // closed by ps.Close
			switch m := m.(type) {
			case *redis.Subscription:
				if m.Kind == "subscribe" {
					log.Debug("subscribed; re-syncing", "channel", m.Channel, "set", what)
					Poke(dirty)
				}
			case *redis.Message:
				Poke(dirty)
			}
		}
	}()
	defer wg.Wait()
	defer ps.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case <-dirty:
		}
		set, ok := loadRetrying(ctx, load, log, what)
		if !ok {
			return
		}
		fn(set)
	}
}

// loadRetrying loads until it succeeds or ctx ends.
func loadRetrying[T any](ctx context.Context, load func(context.Context) (T, error), log *slog.Logger, what string) (T, bool) {
	wait := backoffMin
	for failures := 0; ; failures++ {
		set, err := load(ctx)
		if err == nil {
			if failures > 0 {
				log.Info("redis is back; re-synced", "set", what)
			}
			return set, true
		}
		if ctx.Err() != nil {
			return set, false
		}
		if failures == 0 {
			log.Warn("redis unreachable; keeping the last known set", "set", what, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return set, false
		case <-t.C:
		}
		wait = min(2*wait, backoffMax)
	}
}
