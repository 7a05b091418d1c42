package analytics

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sharing across replicas: every ShareInterval each replica writes its
// snapshot of every window to <prefix>analytics:<window>:<replica> with a
// TTL of three intervals, and a report merges its own live snapshot with
// the other replicas' stored ones. A replica that stops expires out.
// A snapshot is bounded like the recorder (a window's merged slots, at
// most the caps times the slot count rows), so Redis holds at most that
// per replica and window.

// ShareInterval is how often a replica publishes its snapshots.
const ShareInterval = 15 * time.Second

// Redis shares snapshots through a Redis client.
type Redis struct {
	Client *redis.Client
	Prefix string
	Rec    *Recorder
	Log    *slog.Logger
	id     string
}

// NewRedis returns a sharer with a random replica id.
func NewRedis(c *redis.Client, prefix string, rec *Recorder, log *slog.Logger) *Redis {
	var b [8]byte
	_, _ = rand.Read(b[:])
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Redis{Client: c, Prefix: prefix, Rec: rec, Log: log, id: hex.EncodeToString(b[:])}
}

func (s *Redis) key(window, replica string) string {
	return s.Prefix + "analytics:" + window + ":" + replica
}

// Publish writes this replica's snapshots once.
func (s *Redis) Publish(ctx context.Context) error {
	_, err := s.Client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, w := range Windows {
			a, err := s.Rec.Snapshot(w.Name)
			if err != nil {
				return err
			}
			b, err := json.Marshal(a)
			if err != nil {
				return err
			}
			p.Set(ctx, s.key(w.Name, s.id), b, 3*ShareInterval)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("analytics: publish to redis: %w", err)
	}
	return nil
}

// Run publishes every ShareInterval until ctx ends.
func (s *Redis) Run(ctx context.Context) {
	t := time.NewTicker(ShareInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Publish(ctx); err != nil && ctx.Err() == nil {
				s.Log.Warn("analytics: snapshot not shared", "err", err)
			}
		}
	}
}

// Peers returns the other replicas' stored snapshots of window (for
// Handler.Peers).
func (s *Redis) Peers(ctx context.Context, window string) ([]Agg, error) {
	if _, _, err := findWindow(window); err != nil {
		return nil, err
	}
	var keys []string
	iter := s.Client.Scan(ctx, 0, s.key(window, "*"), 100).Iterator()
	for iter.Next(ctx) {
		if k := iter.Val(); k != s.key(window, s.id) {
			keys = append(keys, k)
		}
		if len(keys) >= 64 { // replicas considered, at most
			break
		}
	}
	if err := iter.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, nil
	}
	vals, err := s.Client.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	var out []Agg
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var a Agg
		if err := json.Unmarshal([]byte(str), &a); err != nil {
			s.Log.Warn("analytics: undecodable peer snapshot", "err", err)
			continue
		}
		out = append(out, a)
	}
	return out, nil
}
