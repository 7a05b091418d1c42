package execute

import "time"

// Strategy decides how many nodes a call is tried on, when, and which
// answer wins. The engine asks it before each launch and after each
// finished attempt; a strategy keeps no state of its own (Progress is the
// state), so one value serves every request.
//
// Rules no strategy can change: a call whose content may not be sent twice
// (a write, a notification) is never sent again once it may have left the
// gateway; at most max_attempts nodes are tried; every attempt is
// recorded.
type Strategy interface {
	// Launch returns how many attempts to start now (beyond those in
	// flight), and after how long to ask again if no attempt finishes
	// first (0: ask only when one finishes).
	Launch(p Progress) (start int, again time.Duration)
	// Settle reports whether the call is decided after an attempt
	// finished with v: the engine then abandons the attempts still in
	// flight (freeing their worker slots) and answers.
	Settle(p Progress, v Verdict) bool
}

// Progress is what a strategy knows about a call so far.
type Progress struct {
	InFlight int           // attempts started and not finished
	Started  int           // attempts started, finished ones included
	Since    time.Duration // since the newest attempt started
	// Once is set when what is left to send must not be sent twice
	// (writes, notifications): strategies must not run such calls on
	// several nodes at once.
	Once bool
}

// Verdict is the engine's reading of one finished attempt.
type Verdict uint8

const (
	// Won: a final answer (a result, an error object that another node
	// would give too, an accepted notification).
	Won Verdict = iota + 1
	// Held: a "not yet" answer, kept as a last resort while other nodes
	// are tried.
	Held
	// Partial: some elements of a batch part are answered, others are
	// left for the next attempt.
	Partial
	// Failed: no usable answer; another node may do better.
	Failed
	// Stopped: nothing may be tried any more (a write may have reached a
	// node, or the batch part must be split).
	Stopped
)

// FirstGood is today's strategy: one attempt at a time, the first good
// answer wins; a failed or "not yet" attempt is followed by one on another
// node.
type FirstGood struct{}

var _ Strategy = FirstGood{}

func (FirstGood) Launch(p Progress) (int, time.Duration) {
	if p.InFlight > 0 {
		return 0, 0
	}
	return 1, 0
}

func (FirstGood) Settle(_ Progress, v Verdict) bool { return v == Won || v == Stopped }

// Hedge starts a second attempt on another node when the first has not
// answered after Delay, and takes whichever answers well first; the other
// is abandoned. Calls that must not be sent twice are never hedged.
type Hedge struct {
	Delay time.Duration
	// Max is the most attempts in flight at once (default 2).
	Max int
}

var _ Strategy = Hedge{}

func (h Hedge) Launch(p Progress) (int, time.Duration) {
	if p.InFlight == 0 {
		return 1, h.Delay
	}
	if p.Once || p.InFlight >= max(h.Max, 2) {
		return 0, 0
	}
	if p.Since >= h.Delay {
		return 1, h.Delay
	}
	return 0, h.Delay - p.Since
}

func (Hedge) Settle(_ Progress, v Verdict) bool { return v == Won || v == Stopped }
