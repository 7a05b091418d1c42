package tenant

import "fmt"

// Priority is a request's scheduling class. Larger values are more urgent,
// so "raise" is a plain comparison and the zero value is the least urgent
// class, Low.
type Priority uint8

// The classes, least urgent first.
const (
	Low Priority = iota
	High
	FastTrack

	// NumPriorities sizes arrays indexed by Priority.
	NumPriorities = 3
)

// ParsePriority reads a plan's priority: "fast-track", "high" or "low";
// empty is Low (the plan default).
func ParsePriority(s string) (Priority, error) {
	switch s {
	case "low", "":
		return Low, nil
	case "high":
		return High, nil
	case "fast-track":
		return FastTrack, nil
	}
	return Low, fmt.Errorf("unknown priority %q (use fast-track, high or low)", s)
}

// String returns the class as written in the config.
func (p Priority) String() string {
	switch p {
	case Low:
		return "low"
	case High:
		return "high"
	case FastTrack:
		return "fast-track"
	}
	return fmt.Sprintf("priority(%d)", uint8(p))
}
