// Package filters serves the filter methods (eth_newFilter,
// eth_newBlockFilter, eth_newPendingTransactionFilter,
// eth_getFilterChanges, eth_getFilterLogs, eth_uninstallFilter) from the
// gateway's own chain feed (internal/chainfeed) instead of one node, so a
// filter survives the loss of any node. A filter is a cursor (the last
// block it reported) plus its criteria; with registry.redis the cursor is
// kept in Redis and any replica can answer a poll. Filters expire after
// five minutes without a poll, as in geth.
//
// One file per concept: filter.go (the filter record), store.go (where
// filters live: memory or Redis), manager.go (the methods), pending.go
// (pending-transaction buffers), id.go (identifiers).
package filters

import (
	"encoding/json"
	"time"
)

// Kinds of filter.
const (
	KindLogs    = "logs"
	KindBlocks  = "blocks"
	KindPending = "pending"
)

// Expiry is how long a filter lives without a poll (geth's deadline).
const Expiry = 5 * time.Minute

// Filter is what is stored per filter.
type Filter struct {
	ID    string `json:"id"`
	Chain string `json:"chain"`
	Kind  string `json:"kind"`
	// Owner is the caller's limit key (key:<name> or ip:<addr>).
	Owner string `json:"owner"`
	// Criteria is the eth_newFilter object as sent (logs filters).
	Criteria json.RawMessage `json:"criteria,omitempty"`
	// Number and Hash are the last block the filter reported.
	Number uint64 `json:"number"`
	Hash   string `json:"hash"`
}
