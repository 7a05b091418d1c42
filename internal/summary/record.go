// Package summary streams a compact, versioned record of every relay (or a
// sample) to durable sinks: NATS JetStream, Kafka or a JSON-lines file, at
// least once. A record is copied from the relay record when the request
// ends (Stream.Offer, which never blocks), sits in a bounded in-memory
// queue per sink, and is published in batches whose acknowledgements are
// awaited. When the queue is full, or the broker is down, records spill to
// an on-disk buffer of segment files (one CRC32C-checked frame per record)
// that is drained in order once the broker is back, or after a restart.
// Past the buffer's disk limit records are dropped, counted and logged.
//
// The package also reads the stream back (file, JetStream or Kafka) and
// aggregates it per node and per method for `rpcgate summaries`.
package summary

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rpcgate/rpcgate/internal/evm"
	"github.com/rpcgate/rpcgate/internal/relay"
)

// Version is the record schema version, the "v" field. A consumer reads
// the fields it knows and ignores others; a change that removes or changes
// the meaning of a field bumps it.
const Version = 1

// Record is one relay as streamed. The JSON names are the schema
// (docs/summaries.md).
type Record struct {
	V         int       `json:"v"`
	ID        string    `json:"id"`
	RequestID string    `json:"request_id,omitempty"`
	Time      time.Time `json:"time"`
	Transport string    `json:"transport,omitempty"`
	Chain     string    `json:"chain"`
	Group     string    `json:"group,omitempty"`
	Key       string    `json:"key,omitempty"`
	Plan      string    `json:"plan,omitempty"`
	// Method is a single call's method as sent; Methods a batch's first
	// methods (at most ten), with Batch its size.
	Method     string    `json:"method,omitempty"`
	Methods    []string  `json:"methods,omitempty"`
	Batch      int       `json:"batch,omitempty"`
	ParamsHash string    `json:"params_hash,omitempty"`
	Outcome    string    `json:"outcome"`
	Status     int       `json:"status,omitempty"`
	Code       int       `json:"code,omitempty"`
	LatencyMS  float64   `json:"latency_ms"`
	Bytes      int       `json:"bytes"`
	Attempts   []Attempt `json:"attempts"`
}

// Attempt is one upstream try.
type Attempt struct {
	Node      string  `json:"node"`
	LatencyMS float64 `json:"latency_ms"`
	Outcome   string  `json:"outcome"`
	Code      int     `json:"code,omitempty"`
	Err       string  `json:"err,omitempty"`
	Bytes     int     `json:"bytes,omitempty"`
	Hedge     bool    `json:"hedge,omitempty"`
	// AnswerHash and Vote are filled once consensus relays exist.
	AnswerHash string `json:"answer_hash,omitempty"`
	Vote       string `json:"vote,omitempty"`
}

// entry is the compact copy of a relay record taken on the request path:
// strings are shared (they are immutable), attempts copied. Encoding
// happens later, on a sink's goroutine.
type entry struct {
	id         ID
	requestID  string
	start      time.Time
	dur        time.Duration
	transport  string
	chain      string
	group      string
	key, plan  string
	method     string // as sent, or the batch's joined names
	batch      int
	paramsHash uint64
	outcome    relay.Outcome
	status     int
	code       int
	bytes      int
	attempts   []relay.Attempt
}

func newEntry(id ID, r *relay.Record) *entry {
	e := &entry{id: id, requestID: r.ID, start: r.Start, dur: r.Duration, transport: r.Transport,
		chain: r.Chain, group: r.Group, key: r.Key, plan: r.Plan, method: r.Methods, batch: r.Batch,
		paramsHash: r.ParamsHash, outcome: r.Outcome, status: r.Status, code: r.Code, bytes: r.Bytes}
	if a := r.Attempts(); len(a) > 0 {
		e.attempts = append([]relay.Attempt(nil), a...)
	}
	return e
}

// class is the method class carried in the NATS subject.
func (e *entry) class() string {
	switch {
	case e.batch > 0:
		return "batch"
	case evm.IsWrite(e.method):
		return "write"
	case strings.HasPrefix(e.method, "debug_") || strings.HasPrefix(e.method, "trace_"):
		return "debug"
	}
	return "read"
}

// appendJSON encodes e as one JSON object (no newline).
func (e *entry) appendJSON(b []byte) []byte {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, Version, 10)
	b = append(b, `,"id":"`...)
	b = e.id.Append(b)
	b = append(b, '"')
	b = strField(b, "request_id", e.requestID)
	b = append(b, `,"time":"`...)
	b = e.start.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = strField(b, "transport", e.transport)
	b = append(b, `,"chain":`...)
	b = appendString(b, e.chain)
	b = strField(b, "group", e.group)
	b = strField(b, "key", e.key)
	b = strField(b, "plan", e.plan)
	if e.batch > 0 {
		b = append(b, `,"methods":[`...)
		for i, m := range strings.Split(e.method, ",") {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m)
		}
		b = append(b, `],"batch":`...)
		b = strconv.AppendInt(b, int64(e.batch), 10)
	} else {
		b = append(b, `,"method":`...)
		b = appendString(b, e.method)
	}
	if e.paramsHash != 0 {
		b = append(b, `,"params_hash":"`...)
		b = appendHex64(b, e.paramsHash)
		b = append(b, '"')
	}
	b = append(b, `,"outcome":"`...)
	b = append(b, e.outcome.String()...)
	b = append(b, '"')
	b = intField(b, "status", e.status)
	b = intField(b, "code", e.code)
	b = append(b, `,"latency_ms":`...)
	b = appendMS(b, e.dur)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, int64(e.bytes), 10)
	b = append(b, `,"attempts":[`...)
	for i := range e.attempts {
		a := &e.attempts[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"node":`...)
		b = appendString(b, a.Node)
		b = append(b, `,"latency_ms":`...)
		b = appendMS(b, a.Latency)
		b = append(b, `,"outcome":"`...)
		b = append(b, a.Outcome.String()...)
		b = append(b, '"')
		b = intField(b, "code", a.Code)
		b = strField(b, "err", a.ErrKind)
		b = intField(b, "bytes", a.Bytes)
		if a.Hedge {
			b = append(b, `,"hedge":true`...)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func strField(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

func intField(b []byte, k string, v int) []byte {
	if v == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, int64(v), 10)
}

// appendMS writes d in milliseconds with microsecond precision.
func appendMS(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d.Microseconds())/1000, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

func appendHex64(b []byte, v uint64) []byte {
	for i := 60; i >= 0; i -= 4 {
		b = append(b, hexDigits[(v>>uint(i))&0xf])
	}
	return b
}

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// ErrSchema is returned by Decode for a record that is valid JSON but not
// a record this version can read.
var ErrSchema = errors.New("not a relay summary record")

// Decode reads one record. Unknown fields are ignored; a missing or newer
// major version, an empty id or no outcome is ErrSchema.
func Decode(data []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return Record{}, err
	}
	if r.V < 1 || r.V > Version {
		return Record{}, fmt.Errorf("%w: version %d", ErrSchema, r.V)
	}
	if r.ID == "" || r.Outcome == "" {
		return Record{}, fmt.Errorf("%w: no id or outcome", ErrSchema)
	}
	return r, nil
}

// MethodName is the record's method, or "batch" for a batch.
func (r *Record) MethodName() string {
	if r.Batch > 0 || len(r.Methods) > 0 {
		return "batch"
	}
	return r.Method
}
