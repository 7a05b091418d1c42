// Package reputation keeps each node's score on one chain and decides its
// quarantine. A score starts neutral (1), decays back towards it with a
// half-life, and moves with what the node does: a lost dispute costs the
// most, errors and timeouts cost a little, agreements and fast answers
// earn a little. The score scales the node's selection weight. A lost
// dispute that takes the score to the threshold quarantines the node: it
// gets no traffic for a cool-off (doubling on repeat), then only shadow
// traffic (compared, never served) until enough shadow answers in a row
// agree with the majority.
//
// Only lost disputes quarantine: a node that merely fails is the health
// checker's business (ejection), and shadow checks ride on compared calls,
// which only groups with consensus make.
package reputation

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Settings tune a Book.
type Settings struct {
	QuarantineAfter int
	CoolOff         time.Duration
	ShadowChecks    int
	HalfLife        time.Duration
}

// Phase is where a node stands.
type Phase uint32

const (
	Serving     Phase = iota
	Quarantined       // cool-off: no traffic at all
	Shadow            // shadow checks: compared, never served
)

func (p Phase) String() string {
	switch p {
	case Quarantined:
		return "quarantined"
	case Shadow:
		return "quarantined-shadow"
	}
	return "serving"
}

const (
	neutral   = 1.0
	ceiling   = 2.0
	threshold = 0.25
	agreeGain = 0.02
	fastGain  = 0.01
	errorCost = 0.05
	lateCost  = 0.1
	maxDouble = 4 // cool-off grows to at most 16×
)

// Book holds the scores of one chain's nodes.
type Book struct {
	now func() time.Time
	set atomic.Pointer[Settings]

	mu    sync.Mutex
	nodes atomic.Pointer[map[string]*Entry]
}

// New returns a book; now is the clock (nil: time.Now).
func New(s Settings, now func() time.Time) *Book {
	if now == nil {
		now = time.Now
	}
	b := &Book{now: now}
	b.Configure(s)
	m := map[string]*Entry{}
	b.nodes.Store(&m)
	return b
}

// Configure changes the settings (config reload); scores are kept.
func (b *Book) Configure(s Settings) {
	s.QuarantineAfter = max(s.QuarantineAfter, 1)
	s.ShadowChecks = max(s.ShadowChecks, 1)
	if s.CoolOff <= 0 {
		s.CoolOff = 30 * time.Second
	}
	if s.HalfLife <= 0 {
		s.HalfLife = 2 * time.Minute
	}
	b.set.Store(&s)
}

// Entry is one node's reputation.
type Entry struct {
	phase atomic.Uint32
	until atomic.Int64  // unix ns: end of the cool-off
	scale atomic.Uint64 // float64 bits of the selection factor, refreshed on each event

	mu          sync.Mutex
	score       float64
	at          time.Time
	disputes    uint64 // lost
	agreements  uint64
	quarantines int
	shadowOK    int
}

// Of returns name's entry, creating it.
func (b *Book) Of(name string) *Entry {
	if e := (*b.nodes.Load())[name]; e != nil {
		return e
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.nodes.Load()
	if e := old[name]; e != nil {
		return e
	}
	m := make(map[string]*Entry, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	e := &Entry{score: neutral, at: b.now()}
	e.scale.Store(math.Float64bits(neutral))
	m[name] = e
	b.nodes.Store(&m)
	return e
}

// Phase is name's phase now (a finished cool-off turns into Shadow).
func (b *Book) Phase(name string) Phase {
	e := b.Of(name)
	p := Phase(e.phase.Load())
	if p == Quarantined && b.now().UnixNano() >= e.until.Load() {
		e.phase.CompareAndSwap(uint32(Quarantined), uint32(Shadow))
		return Shadow
	}
	return p
}

// Serving reports whether name may take ordinary traffic.
func (b *Book) Serving(name string) bool { return b.Phase(name) == Serving }

// Scale is name's selection weight factor, from its score as of its
// last event (one atomic load: it is read for every candidate of every
// selection; a node that is selected at all keeps producing events).
func (b *Book) Scale(name string) float64 {
	return math.Float64frombits(b.Of(name).scale.Load())
}

func (b *Book) decayLocked(e *Entry) float64 {
	now := b.now()
	if dt := now.Sub(e.at); dt > 0 {
		f := math.Exp2(-float64(dt) / float64(b.set.Load().HalfLife))
		e.score = neutral + (e.score-neutral)*f
		e.at = now
	}
	e.scale.Store(math.Float64bits(min(max(e.score, 0.1), 1.5)))
	return e.score
}

func (b *Book) add(name string, d float64) {
	e := b.Of(name)
	e.mu.Lock()
	e.score = min(max(b.decayLocked(e)+d, 0), ceiling)
	e.scale.Store(math.Float64bits(min(max(e.score, 0.1), 1.5)))
	e.mu.Unlock()
}

// Agreed: name's answer was the majority's.
func (b *Book) Agreed(name string) {
	b.add(name, agreeGain)
	e := b.Of(name)
	e.mu.Lock()
	e.agreements++
	e.mu.Unlock()
}

// Fast: name's answer was the one served (it won a hedge or a race).
// Only a node below neutral gains (the common case, a neutral node
// serving, costs one atomic load).
func (b *Book) Fast(name string) {
	if b.Scale(name) < neutral {
		b.add(name, fastGain)
	}
}

// Failed: name answered with an infrastructure error (timeout: late).
func (b *Book) Failed(name string, timeout bool) {
	if timeout {
		b.add(name, -lateCost)
		return
	}
	b.add(name, -errorCost)
}

// LostDispute: name's answer differed from the majority's. It reports
// whether the node was put in quarantine by it.
func (b *Book) LostDispute(name string) bool {
	s := b.set.Load()
	e := b.Of(name)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.disputes++
	cost := (neutral - threshold) / float64(s.QuarantineAfter) * 1.01
	e.score = max(b.decayLocked(e)-cost, 0)
	e.scale.Store(math.Float64bits(min(max(e.score, 0.1), 1.5)))
	if e.score > threshold || Phase(e.phase.Load()) != Serving {
		return false
	}
	b.quarantineLocked(e, s)
	return true
}

func (b *Book) quarantineLocked(e *Entry, s *Settings) {
	cool := s.CoolOff << min(e.quarantines, maxDouble)
	e.quarantines++
	e.shadowOK = 0
	e.until.Store(b.now().Add(cool).UnixNano())
	e.phase.Store(uint32(Quarantined))
}

// ShadowResult records a shadow answer of a node in Shadow phase: enough
// agreements in a row return it to service with a neutral score; a
// disagreement quarantines it again, for a longer cool-off. It reports
// the node's phase afterwards.
func (b *Book) ShadowResult(name string, agreed bool) Phase {
	b.Phase(name) // a finished cool-off turns into Shadow
	s := b.set.Load()
	e := b.Of(name)
	e.mu.Lock()
	defer e.mu.Unlock()
	if Phase(e.phase.Load()) != Shadow {
		return Phase(e.phase.Load())
	}
	if !agreed {
		e.disputes++
		b.quarantineLocked(e, s)
		return Quarantined
	}
	e.agreements++
	e.shadowOK++
	if e.shadowOK >= s.ShadowChecks {
		e.score, e.at, e.shadowOK = neutral, b.now(), 0
		e.scale.Store(math.Float64bits(neutral))
		e.phase.Store(uint32(Serving))
		return Serving
	}
	return Shadow
}

// Clear ends name's quarantine now (operator action); the score returns
// to neutral. It reports whether the node was quarantined.
func (b *Book) Clear(name string) bool {
	e := b.Of(name)
	e.mu.Lock()
	defer e.mu.Unlock()
	was := Phase(e.phase.Load()) != Serving
	e.phase.Store(uint32(Serving))
	e.score, e.at, e.shadowOK = neutral, b.now(), 0
	e.scale.Store(math.Float64bits(neutral))
	return was
}

// View is a node's reputation for the admin API and the status page.
type View struct {
	Score       float64   `json:"score"`
	Disputes    uint64    `json:"disputes_lost"`
	Agreements  uint64    `json:"agreements"`
	Quarantines int       `json:"quarantines"`
	Phase       string    `json:"phase"`
	Until       time.Time `json:"quarantined_until,omitzero"`
}

// View returns name's reputation now.
func (b *Book) View(name string) View {
	p := b.Phase(name)
	e := b.Of(name)
	e.mu.Lock()
	defer e.mu.Unlock()
	v := View{Score: math.Round(b.decayLocked(e)*1000) / 1000, Disputes: e.disputes, Agreements: e.agreements,
		Quarantines: e.quarantines, Phase: p.String()}
	if p == Quarantined {
		v.Until = time.Unix(0, e.until.Load()).UTC()
	}
	return v
}

// Forget drops names not in keep (nodes removed from the chain).
func (b *Book) Forget(keep func(string) bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := map[string]*Entry{}
	for k, v := range *b.nodes.Load() {
		if keep(k) {
			m[k] = v
		}
	}
	b.nodes.Store(&m)
}
