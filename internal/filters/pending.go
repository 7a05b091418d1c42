package filters

import (
	"encoding/json"
	"sync"

	"github.com/rpcgate/rpcgate/internal/chainfeed"
)

// maxPending bounds what a pending-transaction filter holds between polls.
const maxPending = 10000

// pendingBuf collects pending transactions for one filter on this replica.
type pendingBuf struct {
	mu     sync.Mutex
	items  []json.RawMessage
	cancel func()
}

var _ chainfeed.Listener = (*pendingBuf)(nil)

func (p *pendingBuf) Blocks(*chainfeed.Event) {}

func (p *pendingBuf) Pending(tx json.RawMessage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.items) >= maxPending {
		copy(p.items, p.items[1:])
		p.items = p.items[:len(p.items)-1]
	}
	p.items = append(p.items, tx)
}

func (p *pendingBuf) take() []json.RawMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.items
	p.items = nil
	return out
}
