package ratelimit

import (
	"context"
	"testing"
	"time"
)

func BenchmarkLocalAllow(b *testing.B) {
	l := NewLocal(time.Now)
	r := Rate{PerSecond: 1e9, Burst: 1e9}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Allow(ctx, "key", 1, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLocalAllowParallel(b *testing.B) {
	l := NewLocal(time.Now)
	r := Rate{PerSecond: 1e9, Burst: 1e9}
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		i := 0
		for pb.Next() {
			l.Allow(ctx, keys[i%len(keys)], 1, r)
			i++
		}
	})
}

func BenchmarkRedisAllow(b *testing.B) {
	addr := needRedis(b)
	l := NewRedis(newClient(b, addr), randomPrefix(b, addr), FailClosed, nil)
	r := Rate{PerSecond: 1e6, Burst: 1e6}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Allow(ctx, "key", 1, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRedisQuotaSpend(b *testing.B) {
	addr := needRedis(b)
	q := NewRedisQuotas(newClient(b, addr), randomPrefix(b, addr), FailClosed)
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := q.Spend(ctx, "key", 1, 1<<40, 1<<40, now); err != nil {
			b.Fatal(err)
		}
	}
}
