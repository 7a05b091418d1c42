package registry

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"
)

// Event is one node state change: up (healthy, selectable) or down.
type Event struct {
	Chain  string    `json:"chain"`
	Node   string    `json:"node"`
	Up     bool      `json:"up"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// History records node up/down events for the status page.
type History interface {
	// Record stores ev; a zero At is set to the current time. Events older
	// than the store's Retention, and beyond MaxEventsPerChain, are dropped.
	Record(ctx context.Context, ev Event) error
	// Events returns a chain's events at or after since, oldest first, for
	// all of its nodes (at most MaxEventsPerChain, the newest).
	Events(ctx context.Context, chain string, since time.Time) ([]Event, error)
}

// ErrInvalidEvent is returned by Record for an event without chain or node.
var ErrInvalidEvent = errors.New("registry: event needs a chain and a node")

func checkEvent(ev *Event, now time.Time) error {
	if ev.Chain == "" || ev.Node == "" {
		return ErrInvalidEvent
	}
	if ev.At.IsZero() {
		ev.At = now
	}
	ev.At = ev.At.UTC()
	return nil
}

func sortEvents(evs []Event) {
	slices.SortStableFunc(evs, func(a, b Event) int { return a.At.Compare(b.At) })
}

// Uptime computes the share of [from, to) during which node was up, from
// events (any order, any nodes; others are ignored) and the node's state
// before from, which is its last event before from. Time before the node's
// first event is not observed and is left out of the denominator; observed
// is the time that counts. With nothing observed, ratio is 0.
func Uptime(events []Event, node string, from, to time.Time) (ratio float64, observed time.Duration) {
	if !to.After(from) {
		return 0, 0
	}
	var mine []Event
	for _, ev := range events {
		if ev.Node == node && ev.At.Before(to) {
			mine = append(mine, ev)
		}
	}
	slices.SortStableFunc(mine, func(a, b Event) int { return cmp.Compare(a.At.UnixNano(), b.At.UnixNano()) })

	var up time.Duration
	known, isUp := false, false
	at := from // start of the current segment
	for _, ev := range mine {
		if ev.At.After(at) {
			if known {
				observed += ev.At.Sub(at)
				if isUp {
					up += ev.At.Sub(at)
				}
			}
			at = ev.At
		}
		known, isUp = true, ev.Up
	}
	if known {
		observed += to.Sub(at)
		if isUp {
			up += to.Sub(at)
		}
	}
	if observed == 0 {
		return 0, 0
	}
	return float64(up) / float64(observed), observed
}
