package telemetry

import (
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// JSONLineWriter is implemented by the JSON handler of NewLogger. It takes
// a record whose fields are already encoded, so the per-request line skips
// slog's generic attribute encoding (about a third of the line's cost).
// The line is byte for byte what slog's JSONHandler writes for the same
// record; JSONFields only encodes strings that need no escaping and tells
// the caller to log through slog otherwise.
type JSONLineWriter interface {
	// WriteJSONLine writes {"time":…,"level":…,"msg":…<fields>}; fields is
	// JSONFields.Buf. msg must need no escaping.
	WriteJSONLine(t time.Time, level slog.Level, msg string, fields []byte) error
}

// JSONFields encodes `,"key":value` pairs for WriteJSONLine.
type JSONFields struct {
	Buf []byte
	// Plain stays true while every key and string value was printable
	// ASCII without '"' or '\\', i.e. encodes to itself. When it is false,
	// Buf must not be used: log the record through slog instead.
	Plain bool
}

// Str appends a string field.
func (f *JSONFields) Str(key, v string) {
	f.Plain = f.Plain && plain(key) && plain(v)
	f.Buf = append(f.Buf, ",\""...)
	f.Buf = append(f.Buf, key...)
	f.Buf = append(f.Buf, "\":\""...)
	f.Buf = append(f.Buf, v...)
	f.Buf = append(f.Buf, '"')
}

// Int appends an integer field (slog writes durations as nanoseconds).
func (f *JSONFields) Int(key string, v int64) {
	f.Plain = f.Plain && plain(key)
	f.Buf = append(f.Buf, ",\""...)
	f.Buf = append(f.Buf, key...)
	f.Buf = append(f.Buf, "\":"...)
	f.Buf = strconv.AppendInt(f.Buf, v, 10)
}

func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// jsonHandler is slog's JSONHandler with the WriteJSONLine shortcut.
// Handlers derived with WithAttrs or WithGroup are plain slog handlers:
// their records carry more than the caller's fields.
type jsonHandler struct {
	*slog.JSONHandler
	w io.Writer
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func (h *jsonHandler) WriteJSONLine(t time.Time, level slog.Level, msg string, fields []byte) error {
	bp := linePool.Get().(*[]byte)
	b := append((*bp)[:0], `{"time":"`...)
	b = t.Round(0).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"`...)
	b = append(b, level.String()...)
	b = append(b, `","msg":"`...)
	b = append(b, msg...)
	b = append(b, '"')
	b = append(b, fields...)
	b = append(b, "}\n"...)
	_, err := h.w.Write(b)
	*bp = b
	if cap(b) <= 64<<10 {
		linePool.Put(bp)
	}
	return err
}
