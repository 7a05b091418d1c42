package schedule

import "time"

// Clock tells the time and runs deadline timers. Slots read it only when a
// request has to wait (never on the fast path); tests inject a manual clock
// to make starvation and deadline behaviour deterministic.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is the part of *time.Timer that Slots use. Reset is only called on
// a timer that has fired or been stopped.
type Timer interface {
	Stop() bool
	Reset(d time.Duration) bool
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
