package node

import (
	"testing"
	"time"
)

func TestStatsQuantiles(t *testing.T) {
	t.Parallel()
	var s stats
	if s.quantile(0.5) != 0 || s.errorRate() != 0 {
		t.Fatal("empty stats must report zero")
	}
	for i := 0; i < 98; i++ {
		s.observe(2*time.Millisecond, false)
	}
	s.observe(500*time.Millisecond, false)
	s.observe(500*time.Millisecond, false)
	s.observe(time.Millisecond, true)
	s.observe(time.Millisecond, true)
	if p50 := s.quantile(0.5); p50 < time.Millisecond || p50 > 3*time.Millisecond {
		t.Errorf("p50 = %v, want about 2ms", p50)
	}
	if p99 := s.quantile(0.995); p99 < 300*time.Millisecond || p99 > 800*time.Millisecond {
		t.Errorf("p99.5 = %v, want about 500ms", p99)
	}
	if r := s.errorRate(); r < 0.019 || r > 0.021 {
		t.Errorf("error rate %v, want 2/102", r)
	}
	if c, sum := s.count.Load(), time.Duration(s.sumNs.Load()); c != 100 || sum != 98*2*time.Millisecond+time.Second {
		t.Errorf("totals %d %v", c, sum)
	}
}

func TestStatsDecay(t *testing.T) {
	t.Parallel()
	var s stats
	now := time.Unix(1000, 0)
	s.decay(now) // first call only starts the clock
	for i := 0; i < 100; i++ {
		s.observe(time.Millisecond, i%4 == 0)
	}
	s.decay(now.Add(decayEvery / 2))
	if s.reqs.Load() != 100 {
		t.Fatalf("decayed too early: %d", s.reqs.Load())
	}
	s.decay(now.Add(decayEvery))
	if s.reqs.Load() != 50 || s.errs.Load() != 12 {
		t.Fatalf("after one decay reqs %d errs %d, want 50 and 12", s.reqs.Load(), s.errs.Load())
	}
	if s.count.Load() != 75 {
		t.Fatalf("cumulative count must not decay: %d", s.count.Load())
	}
}
