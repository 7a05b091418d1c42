package telemetry

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// NewLogger returns a JSON (default) or text logger at level, writing
// through a buffer flushed every 200 ms and by Close, so the per-request
// log line does not cost a write system call per request. Records are
// never split: each is one Write of the handler.
func NewLogger(w io.Writer, format, level string) (*slog.Logger, io.Closer, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	bw := newBufferedWriter(w, 200*time.Millisecond)
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json", "":
		return slog.New(&jsonHandler{slog.NewJSONHandler(bw, opts), bw}), bw, nil
	case "text":
		return slog.New(slog.NewTextHandler(bw, opts)), bw, nil
	}
	bw.Close()
	return nil, nil, fmt.Errorf("--log-format %q: use json or text", format)
}

type bufferedWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func newBufferedWriter(w io.Writer, every time.Duration) *bufferedWriter {
	b := &bufferedWriter{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				b.Flush()
			}
		}
	}()
	return b
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes what is buffered.
func (b *bufferedWriter) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// Close stops the flusher and flushes.
func (b *bufferedWriter) Close() error {
	b.once.Do(func() {
		close(b.stop)
		<-b.done
	})
	return b.Flush()
}
