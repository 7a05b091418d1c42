package registry

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Series in Redis: the hash <prefix>series:<chain>, field the node name,
// value its NodeSeries JSON (at most SeriesDays+288 buckets, a few KB).
// Replicas update a node with an optimistic WATCH/MULTI transaction, so two
// replicas sampling the same node both count; each replica's samples add
// observed time, so the uptime ratio is unaffected by how many replicas
// watch. The hash expires SeriesDays after its last write.

func (s *redisStore) seriesKey(chain string) string { return s.prefix + "series:" + chain }

var _ Series = (*redisStore)(nil)

// RecordSample implements Series.
func (s *redisStore) RecordSample(ctx context.Context, sm Sample) error {
	now := s.now().UTC()
	if err := checkSample(&sm, now); err != nil {
		return err
	}
	key := s.seriesKey(sm.Chain)
	update := func(tx *redis.Tx) error {
		raw, err := tx.HGet(ctx, key, sm.Node).Result()
		var ns NodeSeries
		switch {
		case errors.Is(err, redis.Nil):
			n, err := tx.HLen(ctx, key).Result()
			if err != nil {
				return err
			}
			if n >= MaxSeriesNodes {
				return nil
			}
		case err != nil:
			return err
		default:
			if err := json.Unmarshal([]byte(raw), &ns); err != nil {
				s.log.Error("registry: replacing undecodable series", "key", key, "err", err)
				ns = NodeSeries{}
			}
		}
		ns.Node = sm.Node
		ns.Add(sm, now)
		data, err := json.Marshal(ns)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, key, sm.Node, data)
			p.Expire(ctx, key, SeriesDays*24*time.Hour)
			return nil
		})
		return err
	}
	var err error
	for range 5 {
		err = s.client.Watch(ctx, update, key)
		if !errors.Is(err, redis.TxFailedErr) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("registry: recording series in redis: %w", err)
	}
	return nil
}

// RecordSamples implements Series, one transaction per sample.
func (s *redisStore) RecordSamples(ctx context.Context, ss []Sample) error {
	var first error
	for _, sm := range ss {
		if err := s.RecordSample(ctx, sm); err != nil {
			if ctx.Err() != nil {
				return err
			}
			first = cmp.Or(first, err)
		}
	}
	return first
}

// Series implements Series.
func (s *redisStore) Series(ctx context.Context, chain string) ([]NodeSeries, error) {
	now := s.now().UTC()
	all, err := s.client.HGetAll(ctx, s.seriesKey(chain)).Result()
	if err != nil {
		return nil, fmt.Errorf("registry: reading series from redis: %w", err)
	}
	out := make([]NodeSeries, 0, len(all))
	for node, raw := range all {
		var ns NodeSeries
		if err := json.Unmarshal([]byte(raw), &ns); err != nil {
			s.log.Error("registry: skipping undecodable series", "key", s.seriesKey(chain), "err", err)
			continue
		}
		ns.Node = node
		ns.Trim(now)
		out = append(out, ns)
	}
	slices.SortFunc(out, func(a, b NodeSeries) int { return strings.Compare(a.Node, b.Node) })
	return out, nil
}
