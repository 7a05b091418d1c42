package telemetry

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"
)

// viaSlog and viaLine write the same record through slog's JSONHandler and
// through WriteJSONLine.
func viaSlog(t testing.TB, tm time.Time, s1, s2 string, n int64) []byte {
	var out bytes.Buffer
	r := slog.NewRecord(tm, slog.LevelInfo, "request", 0)
	r.AddAttrs(slog.String("a", s1), slog.Int64("n", n), slog.String("b", s2), slog.Duration("d", time.Duration(n)))
	if err := slog.NewJSONHandler(&out, nil).Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func viaLine(t testing.TB, tm time.Time, s1, s2 string, n int64) ([]byte, bool) {
	var out bytes.Buffer
	h := &jsonHandler{slog.NewJSONHandler(&out, nil), &out}
	f := JSONFields{Plain: true}
	f.Str("a", s1)
	f.Int("n", n)
	f.Str("b", s2)
	f.Int("d", n)
	if !f.Plain {
		return nil, false
	}
	if err := h.WriteJSONLine(tm, slog.LevelInfo, "request", f.Buf); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), true
}

func TestJSONLineMatchesSlog(t *testing.T) {
	now := time.Now() // with a monotonic reading, which slog strips
	cases := []struct {
		s1, s2 string
		plain  bool
	}{
		{"eth_chainId", "127.0.0.1:5555", true},
		{"", "", true},
		{"a<b>&c", "~ {}[]", true},
		{`quote"`, "x", false},
		{"x", `back\slash`, false},
		{"new\nline", "x", false},
		{"ünïcode", "x", false},
	}
	for _, tc := range cases {
		want := viaSlog(t, now, tc.s1, tc.s2, -42)
		got, ok := viaLine(t, now, tc.s1, tc.s2, -42)
		if ok != tc.plain {
			t.Fatalf("%q %q: Plain = %v, want %v", tc.s1, tc.s2, ok, tc.plain)
		}
		if ok && !bytes.Equal(got, want) {
			t.Errorf("line differs from slog's\n got: %s\nwant: %s", got, want)
		}
	}
}

// Whenever JSONFields says a record is plain, the shortcut writes exactly
// what slog would.
func FuzzJSONLine(f *testing.F) {
	f.Add("eth_call", "10.0.0.1:80", int64(7), int64(1700000000123456789))
	f.Add("", "\x7f", int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, s1, s2 string, n, unixNano int64) {
		tm := time.Unix(0, unixNano).UTC()
		if y := tm.Year(); y < 0 || y >= 10000 {
			return
		}
		got, ok := viaLine(t, tm, s1, s2, n)
		if !ok {
			return
		}
		if want := viaSlog(t, tm, s1, s2, n); !bytes.Equal(got, want) {
			t.Fatalf("line differs from slog's\n got: %s\nwant: %s", got, want)
		}
	})
}
