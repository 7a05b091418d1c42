package demo

import (
	"fmt"
	"log/slog"
	"sync"
)

// eventBuffer is how many unread event lines are kept; newer lines are
// dropped (and still logged) when nobody reads them.
const eventBuffer = 64

// events fans human-readable lines about what the nodes are doing out to
// Fleet.Events and the logger. Sends never block a node.
type events struct {
	log *slog.Logger

	mu     sync.Mutex
	ch     chan string
	closed bool
}

func newEvents(log *slog.Logger) *events {
	return &events{log: log, ch: make(chan string, eventBuffer)}
}

func (e *events) emit(format string, a ...any) {
	line := fmt.Sprintf(format, a...)
	e.log.Info(line, "component", "demo")
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	select {
	case e.ch <- line:
	default:
	}
}

// close closes the channel; later emits are logged only. HTTP handlers may
// still be running when the fleet closes, hence the flag.
func (e *events) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		e.closed = true
		close(e.ch)
	}
}
