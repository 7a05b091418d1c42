package status

import "github.com/rpcgate/rpcgate/internal/registry"

// The node-event log is the registry's: shared by every replica through
// Redis (or kept in the registry's state file), so uptime survives restarts.
type (
	// Event is one node going up or down.
	Event = registry.Event
	// History records and lists events.
	History = registry.History
)
