package status

import (
	"sort"
	"time"
)

// Incident is one change of a node between up and down, as published.
type Incident struct {
	Node   string `json:"node"`
	Kind   string `json:"kind"` // "down" or "up"
	At     string `json:"at"`   // RFC 3339, UTC
	Reason string `json:"reason,omitempty"`
}

// incidents picks the events that change a node's state, newest first, at
// most limit. Repeats (a second "up" while up, e.g. a replica restarting
// and recording what it sees) are not incidents, nor is a node's first
// event when it is "up": a node being seen healthy is no news.
func incidents(events []Event, limit int) []Incident {
	sorted := append([]Event(nil), events...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].At.Before(sorted[j].At) })
	last := map[string]bool{} // node → up, for nodes seen so far
	out := []Incident{}       // "incidents": [] when there are none, never null
	for _, e := range sorted {
		prev, seen := last[e.Node]
		last[e.Node] = e.Up
		if (seen && prev == e.Up) || (!seen && e.Up) {
			continue
		}
		kind := "down"
		if e.Up {
			kind = "up"
		}
		out = append(out, Incident{Node: e.Node, Kind: kind, At: e.At.UTC().Format(time.RFC3339), Reason: e.Reason})
	}
	// newest first
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
