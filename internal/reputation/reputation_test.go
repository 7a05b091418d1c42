package reputation

import (
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestQuarantineAfterDisputesThenShadowThenServing(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	b := New(Settings{QuarantineAfter: 3, CoolOff: 30 * time.Second, ShadowChecks: 2, HalfLife: time.Minute}, c.now)
	if b.LostDispute("liar") || b.LostDispute("liar") {
		t.Fatal("quarantined before the third lost dispute")
	}
	if !b.Serving("liar") || b.Scale("liar") >= b.Scale("honest") {
		t.Fatalf("after two disputes: serving %v, scale %v vs %v", b.Serving("liar"), b.Scale("liar"), b.Scale("honest"))
	}
	if !b.LostDispute("liar") {
		t.Fatal("not quarantined after the third lost dispute")
	}
	if b.Phase("liar") != Quarantined || b.View("liar").Phase != "quarantined" {
		t.Fatalf("phase %v", b.Phase("liar"))
	}
	c.advance(29 * time.Second)
	if b.Phase("liar") != Quarantined {
		t.Fatal("cool-off ended early")
	}
	c.advance(2 * time.Second)
	if b.Phase("liar") != Shadow {
		t.Fatalf("after cool-off: %v, want shadow", b.Phase("liar"))
	}
	// A shadow disagreement: back to quarantine, for twice as long.
	if b.ShadowResult("liar", false) != Quarantined {
		t.Fatal("shadow disagreement did not re-quarantine")
	}
	c.advance(31 * time.Second)
	if b.Phase("liar") != Quarantined {
		t.Fatal("second cool-off did not double")
	}
	c.advance(30 * time.Second)
	if b.ShadowResult("liar", true) != Shadow || b.ShadowResult("liar", true) != Serving {
		t.Fatal("two agreeing shadow checks did not return the node to service")
	}
	if !b.Serving("liar") {
		t.Fatal("not serving")
	}
}

func TestScoreDecaysToNeutral(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	b := New(Settings{QuarantineAfter: 10, HalfLife: time.Minute}, c.now)
	for range 20 {
		b.Failed("slow", true)
	}
	low := b.View("slow").Score
	c.advance(10 * time.Minute)
	if high := b.View("slow").Score; !(high > low && high > 0.99) {
		t.Fatalf("score %v → %v after 10 half-lives; want back near 1", low, high)
	}
	if b.Phase("slow") != Serving {
		t.Fatal("timeouts alone quarantined a node")
	}
}

func TestClear(t *testing.T) {
	t.Parallel()
	b := New(Settings{QuarantineAfter: 1}, nil)
	b.LostDispute("x")
	if b.Serving("x") || !b.Clear("x") || !b.Serving("x") {
		t.Fatal("Clear did not end the quarantine")
	}
}
