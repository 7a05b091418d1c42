package snapshot

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Progress shows bytes and chunks per second and an ETA on one
// self-rewriting line, when the output is a terminal; otherwise it is
// quiet (logs and CI output stay clean).
type Progress struct {
	w      io.Writer // nil: quiet
	verb   string
	total  atomic.Int64
	chunks atomic.Int64
	bytes  atomic.Int64
	done   atomic.Int64 // chunks
	start  time.Time
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// NewProgress writes to w only if w is a terminal.
func NewProgress(w io.Writer, verb string) *Progress {
	p := &Progress{verb: verb}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		p.w = w
	}
	return p
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Begin sets the totals and starts the display.
func (p *Progress) Begin(chunks int, bytes int64) {
	if p == nil {
		return
	}
	p.chunks.Store(int64(chunks))
	p.total.Store(bytes)
	p.start = time.Now()
	if p.w == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fmt.Fprint(p.w, "\r"+p.line()+"\x1b[K")
			}
		}
	}()
}

// Add counts one chunk of n bytes done.
func (p *Progress) Add(n int64) {
	if p == nil {
		return
	}
	p.bytes.Add(n)
	p.done.Add(1)
}

// End stops the display.
func (p *Progress) End() {
	if p == nil || p.stop == nil {
		return
	}
	p.stop()
	p.wg.Wait()
	fmt.Fprint(p.w, "\r"+p.line()+"\x1b[K\n")
}

func (p *Progress) line() string {
	el := time.Since(p.start).Seconds()
	b, tot, d, n := p.bytes.Load(), p.total.Load(), p.done.Load(), p.chunks.Load()
	rate, crate := 0.0, 0.0
	if el > 0 {
		rate, crate = float64(b)/el, float64(d)/el
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(tot-b)/rate) * time.Second).Round(time.Second).String()
	}
	return fmt.Sprintf("%s %d/%d chunks, %s/%s, %.1f MB/s, %.1f chunks/s, ETA %s",
		p.verb, d, n, mib(b), mib(tot), rate/1e6, crate, eta)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
