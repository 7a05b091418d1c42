package schedule

import (
	"math"
	"time"
)

// Policy decides which waiting request gets a freed worker slot. Its
// values are taken as given: config.ApplyDefaults is where the defaults
// (2, 0.1, 1s; queues 256/512/1024) come from. NewSlots only clamps values
// that would make the rule meaningless, as noted per field.
type Policy struct {
	// FastTrackPerHigh is how many fast-track requests are dispatched for
	// every high one while both classes wait. Values below 1 count as 1.
	FastTrackPerHigh int
	// LowShare is the share of dispatches guaranteed to low requests while
	// low is starved (see LowAfter): every ceil(1/LowShare)-th dispatch
	// goes to the oldest low waiter. 0 (or less, or NaN) turns the
	// guarantee off; values above 1 count as 1.
	LowShare float64
	// LowAfter is how long the oldest low waiter must have waited (strictly
	// longer) before low counts as starved. Negative counts as 0.
	LowAfter time.Duration
	// Queue bounds the waiters per class, indexed by Class. A request that
	// finds its class's queue full fails at once with ErrQueueFull; 0 means
	// the class never waits. Negative counts as 0.
	Queue [numClasses]int
	// Clock is the time source for waiting requests; nil is the wall clock.
	Clock Clock
}

// dispatcher holds the state of the dispatch rule between decisions. It is
// guarded by the Slots' mutex.
//
// The rule, applied each time a slot is freed and someone waits:
//
//  1. Low is starved when its queue is non-empty and its oldest waiter has
//     waited longer than LowAfter. While low is starved and fast-track or
//     high also wait, every dispatch is counted; the lowEvery-th one
//     (lowEvery = ceil(1/LowShare)) goes to the oldest low waiter and the
//     count restarts. The count restarts too whenever low is not starved,
//     or low is dispatched because nothing else waits; so "every 10th"
//     (LowShare 0.1) is counted from the moment the guarantee became
//     active or low last ran.
//  2. Otherwise, with both fast-track and high waiting, fast-track is
//     dispatched FastTrackPerHigh times in a row, then high once:
//     FT, FT, HP, FT, FT, HP, ... (for 2). Dispatches of low (rule 1)
//     leave this cycle where it was.
//  3. With only one of fast-track and high waiting, that class goes on
//     alone and the cycle restarts, so when the other arrives fast-track
//     again gets its FastTrackPerHigh turns first.
//  4. Low is dispatched when neither fast-track nor high waits.
//
// Within a class, waiters are served in arrival order.
type dispatcher struct {
	ftPerHigh int
	lowEvery  int // 0: no starvation guarantee
	lowAfter  time.Duration

	ftRun   int // fast-track dispatches since high last ran, while both wait
	lowTurn int // dispatches counted while low is starved
}

func newDispatcher(p Policy) dispatcher {
	d := dispatcher{ftPerHigh: max(p.FastTrackPerHigh, 1), lowAfter: max(p.LowAfter, 0)}
	if share := p.LowShare; share > 0 { // false for NaN
		// ceil(1/share) gives at least the share; the epsilon keeps 0.1
		// at every 10th rather than every 11th should 1/share round up.
		d.lowEvery = int(math.Ceil(1/min(share, 1) - 1e-9))
	}
	return d
}

// pick returns the class to dispatch next, or false when nobody waits.
// oldestLow is the arrival time of the oldest low waiter (read only when
// low waits), now the current time.
func (d *dispatcher) pick(waiting [numClasses]int, oldestLow, now time.Time) (Class, bool) {
	ft, hp, lo := waiting[FastTrack] > 0, waiting[High] > 0, waiting[Low] > 0
	if !ft && !hp {
		d.ftRun, d.lowTurn = 0, 0
		return Low, lo
	}
	if lo && d.lowEvery > 0 && now.Sub(oldestLow) > d.lowAfter {
		d.lowTurn++
		if d.lowTurn >= d.lowEvery {
			d.lowTurn = 0
			return Low, true
		}
	} else {
		d.lowTurn = 0
	}
	switch {
	case ft && hp:
		if d.ftRun < d.ftPerHigh {
			d.ftRun++
			return FastTrack, true
		}
		d.ftRun = 0
		return High, true
	case ft:
		d.ftRun = 0
		return FastTrack, true
	default:
		d.ftRun = 0
		return High, true
	}
}
