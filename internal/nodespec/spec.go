// Package nodespec is the one description of an upstream node: its
// settings, their defaults and their validation. The config file, the
// admin API and the node registry all build a Spec and judge it here, so a
// node is accepted or refused the same way, with the same message, however
// it arrives. Package node builds a running node from a Spec.
package nodespec

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Spec is everything one upstream node is built from.
type Spec struct {
	// Name identifies the node in logs, metrics, the admin API and the
	// status page (never its URL): 1-64 letters, digits, '_', '.' or '-',
	// starting with a letter or digit. Required.
	Name string
	// URL is the node's HTTP JSON-RPC endpoint (http or https, any case).
	// Required. Userinfo and query strings (credentials) are never shown.
	URL string
	// WS is the node's WebSocket endpoint (ws or wss). Optional.
	WS string
	// Headers are sent with every request to the node (e.g. auth). Names
	// are RFC 7230 tokens; values are one line without control characters.
	// Never shown publicly.
	Headers map[string]string
	// Weight scales the node's share of traffic: 1 to MaxWeight.
	// Default: DefaultWeight.
	Weight int
	// Workers is the most requests in flight to the node: 1 to
	// MaxWorkers. Default: DefaultWorkers.
	Workers int
	// Queue is how many requests may wait for a worker slot: 0 to
	// MaxQueue. Default: DefaultQueuePerWorker × Workers (at most MaxQueue).
	Queue int
	// MaxRequestBytes is the largest request body sent to this node;
	// larger calls are refused before the node sees them, so a client
	// cannot make a healthy node fail by sending what it would refuse.
	// 1 to MaxMaxRequestBytes. Default: DefaultMaxRequestBytes (5 MiB, what
	// geth accepts).
	MaxRequestBytes int64
}

// Defaults, set only by ApplyDefaults.
const (
	DefaultWeight          = 1
	DefaultWorkers         = 32
	DefaultQueuePerWorker  = 8       // Queue defaults to this × Workers
	DefaultMaxRequestBytes = 5 << 20 // 5 MiB: geth's HTTP body limit
)

// Maxima. They keep a typo (or a hostile admin call) from giving one node
// a weight that starves the rest, or from sizing pools and queues beyond
// what any node serves.
const (
	MaxWeight          = 1000
	MaxWorkers         = 4096
	MaxQueue           = DefaultQueuePerWorker * MaxWorkers // 32768
	MaxMaxRequestBytes = 1 << 30                            // 1 GiB
)

// Field names a Spec's settings as the config file's keys (and the admin
// API's JSON fields) spell them, so a Problem can be placed in either.
const (
	FieldName            = "name"
	FieldURL             = "url"
	FieldWS              = "ws"
	FieldHeaders         = "headers"
	FieldWeight          = "weight"
	FieldWorkers         = "workers"
	FieldQueue           = "queue"
	FieldMaxRequestBytes = "max_request_bytes"
)

// ApplyDefaults sets every zero setting to its default. It is idempotent.
func (s *Spec) ApplyDefaults() {
	if s.Weight == 0 {
		s.Weight = DefaultWeight
	}
	if s.Workers == 0 {
		s.Workers = DefaultWorkers
	}
	if s.Queue == 0 {
		s.Queue = DefaultQueue(s.Workers)
	}
	if s.MaxRequestBytes == 0 {
		s.MaxRequestBytes = DefaultMaxRequestBytes
	}
}

// DefaultQueue is the default Queue of a node with workers worker slots.
func DefaultQueue(workers int) int {
	if workers > MaxWorkers {
		return MaxQueue
	}
	return DefaultQueuePerWorker * workers
}

// Clone returns a copy that shares no map with s.
func (s Spec) Clone() Spec {
	s.Headers = maps.Clone(s.Headers)
	return s
}

// Problem is one thing wrong with a Spec.
type Problem struct {
	// Field is the setting at fault (one of the Field constants).
	Field string
	// Header is the header at fault when Field is FieldHeaders.
	Header string
	// AtKey is true when the name is wrong (the node's name, a header's
	// name) rather than a value: the config places it at the key.
	AtKey bool
	// Msg says what is wrong; Hint how to fix it.
	Msg, Hint string
}

// String is the message as every path shows it: Msg (hint: Hint). The
// config prefixes it with file:line:col.
func (p Problem) String() string {
	if p.Hint == "" {
		return p.Msg
	}
	return p.Msg + " (hint: " + p.Hint + ")"
}

func (p Problem) Error() string { return p.String() }

// NameHint says what a name (of a node, chain, group or plan) may be.
const NameHint = "use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"

// NameRE is what node (and chain, group, plan) names must look like: they
// appear in URLs, metric labels and logs.
var NameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)

// Validate returns every problem with s, in field order (name, url, ws,
// weight, workers, queue, max_request_bytes, then headers by name). Call
// ApplyDefaults first: zero sizes are problems here.
func (s Spec) Validate() []Problem {
	var ps []Problem
	add := func(p Problem) { ps = append(ps, p) }
	if !NameRE.MatchString(s.Name) {
		add(Problem{Field: FieldName, AtKey: true, Msg: fmt.Sprintf("node name %q is not valid", s.Name), Hint: NameHint})
	}
	if s.URL == "" {
		add(Problem{Field: FieldURL, Msg: fmt.Sprintf("node %q has no url", s.Name),
			Hint: `add the node's HTTP JSON-RPC endpoint, e.g. url: "http://10.0.0.1:8545"`})
	} else if !ValidURL(s.URL, "http", "https") {
		add(Problem{Field: FieldURL, Msg: fmt.Sprintf("node %q: url %q is not an http:// or https:// URL with a host", s.Name, Redact(s.URL)),
			Hint: `write e.g. url: "http://10.0.0.1:8545"`})
	}
	if s.WS != "" && !ValidURL(s.WS, "ws", "wss") {
		add(Problem{Field: FieldWS, Msg: fmt.Sprintf("node %q: ws %q is not a ws:// or wss:// URL with a host", s.Name, Redact(s.WS)),
			Hint: `write e.g. ws: "ws://10.0.0.1:8546", or remove ws`})
	}
	if p, bad := bounded(s.Name, FieldWeight, int64(s.Weight), 1, MaxWeight); bad {
		add(p)
	}
	if p, bad := bounded(s.Name, FieldWorkers, int64(s.Workers), 1, MaxWorkers); bad {
		add(p)
	}
	if p, bad := bounded(s.Name, FieldQueue, int64(s.Queue), 0, MaxQueue); bad {
		add(p)
	}
	if p, bad := bounded(s.Name, FieldMaxRequestBytes, s.MaxRequestBytes, 1, MaxMaxRequestBytes); bad {
		add(p)
	}
	for _, h := range slices.Sorted(maps.Keys(s.Headers)) {
		if !ValidHeaderName(h) {
			add(Problem{Field: FieldHeaders, Header: h, AtKey: true,
				Msg:  fmt.Sprintf("node %q: %q is not a valid HTTP header name", s.Name, h),
				Hint: "use letters, digits and '-', e.g. Authorization or X-Api-Key"})
		}
		switch v := s.Headers[h]; {
		case strings.ContainsAny(v, "\r\n"):
			add(Problem{Field: FieldHeaders, Header: h, Msg: fmt.Sprintf("node %q: header %q contains a line break", s.Name, h),
				Hint: "put the header value on one line"})
		case strings.ContainsFunc(v, isCTL):
			add(Problem{Field: FieldHeaders, Header: h, Msg: fmt.Sprintf("node %q: header %q contains a control character", s.Name, h),
				Hint: "remove control characters from the header value (a tab is allowed)"})
		}
	}
	return ps
}

// bounded checks lo <= n <= hi for the setting field.
func bounded(node, field string, n, lo, hi int64) (Problem, bool) {
	switch {
	case n < lo:
		return Problem{Field: field, Msg: fmt.Sprintf("node %q: %s must be at least %d, got %d", node, field, lo, n),
			Hint: fmt.Sprintf("set %s to %d or more, or remove it to use the default", field, lo)}, true
	case n > hi:
		return Problem{Field: field, Msg: fmt.Sprintf("node %q: %s must be at most %d, got %d", node, field, hi, n),
			Hint: fmt.Sprintf("set %s to %d or less, or remove it to use the default", field, hi)}, true
	}
	return Problem{}, false
}

// isCTL is a control character other than horizontal tab (RFC 7230
// field-value excludes them).
func isCTL(r rune) bool { return r != '\t' && (r < 0x20 || r == 0x7f) }

// ValidURL reports a URL with one of schemes (compared without regard to
// case) and a host name.
func ValidURL(raw string, schemes ...string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return false
	}
	return slices.ContainsFunc(schemes, func(s string) bool { return strings.EqualFold(s, u.Scheme) })
}

// ValidHeaderName reports an RFC 7230 token: one or more of the visible
// ASCII characters except delimiters.
func ValidHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// Redact hides credentials (userinfo, query) in a URL shown in a message;
// messages end up in logs and admin answers.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.ContainsAny(raw, "@?") { // may hold credentials
			return "(not shown: it does not parse and may hold credentials)"
		}
		return raw
	}
	if u.User == nil && u.RawQuery == "" {
		return raw
	}
	if u.User != nil {
		u.User = url.User("xxxxx")
	}
	if u.RawQuery != "" {
		u.RawQuery = "xxxxx"
	}
	return u.String()
}
