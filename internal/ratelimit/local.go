package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

const (
	// DefaultMaxEntries caps the buckets a Local keeps (about 150 bytes
	// each plus the key); past it the least recently used are dropped. A
	// dropped bucket comes back full, so the cap trades exactness for
	// bounded memory only under a flood of distinct keys.
	DefaultMaxEntries = 1 << 20
	// localShards spreads keys over independently locked maps.
	localShards = 256
	// sweepEvery is how often (by the limiter's clock) a shard looks for
	// idle buckets, on its next use.
	sweepEvery = time.Second
)

// Local is an in-process Limiter: one token bucket per key, kept as a GCRA
// theoretical arrival time in a sharded map. A bucket that has been full for
// more than twice its refill time is evicted (it is indistinguishable from a
// new one), and the number of buckets is capped, dropping the least recently
// used, so memory stays bounded whatever the keys.
//
// Limits are per process: N replicas each admit the full rate. Use Redis to
// share one limit.
type Local struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [localShards]shard
}

var _ Limiter = (*Local)(nil)

type shard struct {
	mu        sync.Mutex
	m         map[string]*bucket
	head      *bucket // most recently used
	tail      *bucket // least recently used
	lastSweep int64
	limit     int // most buckets held
}

// bucket is one key's state: tat is the theoretical arrival time (unix
// nanoseconds); the bucket is full when tat <= now. tau (the burst's refill
// time) decides when an idle bucket may go.
type bucket struct {
	key        string
	tat, tau   int64
	prev, next *bucket
}

// NewLocal returns an in-process limiter reading time from now (time.Now
// when nil).
func NewLocal(now func() time.Time) *Local { return newLocal(now, DefaultMaxEntries) }

func newLocal(now func() time.Time, maxEntries int) *Local {
	if now == nil {
		now = time.Now
	}
	l := &Local{now: now, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].m = make(map[string]*bucket)
		l.shards[i].limit = max(1, maxEntries/localShards)
	}
	return l
}

// Allow implements Limiter. It never returns an error for a valid Rate and
// cost.
func (l *Local) Allow(_ context.Context, key string, cost int, r Rate) (Decision, error) {
	g, err := r.gcra()
	if err != nil {
		return Decision{}, err
	}
	if err := checkCost(int64(cost)); err != nil {
		return Decision{}, err
	}
	now := l.now().UnixNano()
	s := &l.shards[maphash.String(l.seed, key)%localShards]

	s.mu.Lock()
	defer s.mu.Unlock()
	if now-s.lastSweep >= int64(sweepEvery) {
		s.sweep(now)
	}
	b := s.m[key]
	tat := now
	if b != nil && b.tat > now {
		tat = b.tat
	}
	d, newTAT := g.decide(now, tat, int64(cost))
	if b != nil {
		// A refused key is still in use: keep it from the LRU end, or a
		// flood of new keys would hand an abuser a full bucket.
		s.touch(b)
	}
	if !d.Allowed || b == nil && newTAT <= now {
		return d, nil
	}
	if b == nil {
		b = s.insert(key)
	}
	b.tat, b.tau = newTAT, g.tau
	return d, nil
}

// decide applies GCRA at now to a bucket whose arrival time is tat (>= now).
// It returns the decision and, when allowed, the new arrival time.
func (g gcra) decide(now, tat, cost int64) (Decision, int64) {
	need := int64(float64(min(cost, int64(g.burst))) * g.interval)
	if wait := tat + need - now - g.tau; wait > 0 {
		return Decision{
			RetryAfter: time.Duration(wait),
			Limit:      LimitRate,
			Remaining:  max(0, float64(g.tau-(tat-now))/g.interval),
		}, 0
	}
	tat += int64(float64(cost) * g.interval)
	return Decision{
		Allowed:   true,
		Limit:     LimitRate,
		Remaining: max(0, float64(g.tau-(tat-now))/g.interval),
	}, tat
}

// Len returns the number of buckets held.
func (l *Local) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// sweep drops buckets full for more than twice their refill time.
func (s *shard) sweep(now int64) {
	s.lastSweep = now
	for b := s.tail; b != nil; {
		prev := b.prev
		if now-b.tat > 2*b.tau {
			s.remove(b)
		}
		b = prev
	}
}

// insert adds a bucket for key at the head, first dropping the least
// recently used bucket (reusing it) when the shard is full. It does not
// sweep: under a flood of new keys that would scan the shard per request.
func (s *shard) insert(key string) *bucket {
	var b *bucket
	if len(s.m) >= s.limit {
		b = s.tail
		s.remove(b)
		*b = bucket{}
	} else {
		b = new(bucket)
	}
	b.key = key
	s.m[key] = b
	s.pushFront(b)
	return b
}

func (s *shard) touch(b *bucket) {
	if s.head == b {
		return
	}
	s.unlink(b)
	s.pushFront(b)
}

func (s *shard) remove(b *bucket) {
	s.unlink(b)
	delete(s.m, b.key)
}

func (s *shard) unlink(b *bucket) {
	if b.prev != nil {
		b.prev.next = b.next
	} else {
		s.head = b.next
	}
	if b.next != nil {
		b.next.prev = b.prev
	} else {
		s.tail = b.prev
	}
	b.prev, b.next = nil, nil
}

func (s *shard) pushFront(b *bucket) {
	b.next = s.head
	if s.head != nil {
		s.head.prev = b
	}
	s.head = b
	if s.tail == nil {
		s.tail = b
	}
}
