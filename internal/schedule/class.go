package schedule

import "strconv"

// Class is a request's priority class. Its value indexes Policy.Queue and
// Stats.Classes.
type Class uint8

// Priority classes, lowest first.
const (
	Low Class = iota
	High
	FastTrack

	numClasses = 3
)

// ParseClass maps a plan's priority ("fast-track", "high", "low") to its
// class. ok is false for anything else.
func ParseClass(s string) (c Class, ok bool) {
	switch s {
	case "fast-track":
		return FastTrack, true
	case "high":
		return High, true
	case "low":
		return Low, true
	}
	return Low, false
}

// String returns the spelling ParseClass accepts.
func (c Class) String() string {
	switch c {
	case FastTrack:
		return "fast-track"
	case High:
		return "high"
	case Low:
		return "low"
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// valid maps an out-of-range class to Low, so a caller's bug costs the
// request its priority rather than the process.
func (c Class) valid() Class {
	if c >= numClasses {
		return Low
	}
	return c
}
