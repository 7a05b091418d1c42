package snapshot

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressQuietWhenNotATerminal(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := NewProgress(&buf, "fetch")
	p.Begin(4, 4<<20)
	p.Add(1 << 20)
	p.End()
	if buf.Len() != 0 {
		t.Fatalf("wrote %q to a non-terminal", buf.String())
	}
}

func TestProgressLineShowsRatesAndETA(t *testing.T) {
	t.Parallel()
	p := &Progress{verb: "fetch"}
	p.Begin(4, 4<<20)
	p.start = time.Now().Add(-2 * time.Second) // two seconds in
	p.Add(1 << 20)
	p.Add(1 << 20)
	line := p.line()
	for _, want := range []string{"fetch 2/4 chunks", "2.0 MiB/4.0 MiB", "MB/s", "1.0 chunks/s", "ETA 2s"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
}
