package session

import (
	"slices"
	"time"

	"github.com/rpcgate/rpcgate/internal/node"
)

// Config turns sessions on.
type Config struct {
	// Size is how many of a group's nodes one session uses per epoch; 0
	// is off.
	Size int
	// Epoch is how long a session keeps its subset.
	Epoch time.Duration
	// ReadYourWrites is the pinning window after a write; 0 is off.
	ReadYourWrites time.Duration
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Sessions applies the constraint for every call. A nil *Sessions is off.
type Sessions struct {
	cfg    Config
	ryw    *Tracker
	assign *Assigner
}

// New returns the sessions for cfg, or nil when both features are off.
func New(cfg Config) *Sessions {
	if cfg.Size <= 0 && cfg.ReadYourWrites <= 0 {
		return nil
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Sessions{cfg: cfg, assign: NewAssigner(cfg.Size)}
	if cfg.ReadYourWrites > 0 {
		s.ryw = NewTracker(cfg.ReadYourWrites)
	}
	return s
}

// Nodes narrows nodes (group's, named "chain/group") for one call of key:
// to the node that took key's last write, for a pending-state read within
// the window; else to key's subset for this epoch. nil means no
// constraint.
func (s *Sessions) Nodes(group, key, method string, params []byte, nodes []*node.Node) []*node.Node {
	if s == nil || key == "" {
		return nil
	}
	now := s.cfg.Now()
	if s.ryw != nil && PendingRead(method, params) {
		if name, ok := s.ryw.Pinned(key, now); ok {
			for _, n := range nodes {
				if n.Name() == name {
					return []*node.Node{n}
				}
			}
		}
	}
	if s.cfg.Size <= 0 || s.cfg.Size >= len(nodes) {
		return nil
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name()
	}
	sub := s.assign.Subset(group, key, Epoch(now, s.cfg.Epoch), names)
	out := make([]*node.Node, 0, len(sub))
	for _, n := range nodes {
		if slices.Contains(sub, n.Name()) {
			out = append(out, n)
		}
	}
	return out
}

// Wrote records a successful write of key on node.
func (s *Sessions) Wrote(key, node string) {
	if s == nil || s.ryw == nil {
		return
	}
	s.ryw.Wrote(key, node, s.cfg.Now())
}
