package telemetry

import (
	"context"
	"log"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// API keys reach rpcgate in a path segment (/<chain>/<key>), a query
// (?key=) or a header (X-Api-Key, Authorization). Log lines carry key
// names, never secrets; the lines that may quote raw client bytes (the
// HTTP servers' own error messages) pass through Redact (issue 8,
// defect 6).
var redactions = []struct {
	re   *regexp.Regexp
	with string
}{
	// ?key=..., &apikey=..., token=... in a query or form.
	{regexp.MustCompile(`(?i)((?:^|[?&;\s"'])(?:key|api_?key|token|access_token|auth)=)[^&\s"'\\]+`), "${1}[redacted]"},
	// X-Api-Key: ..., Authorization: Bearer ... in a header dump.
	{regexp.MustCompile(`(?i)((?:x-api-key|authorization|proxy-authorization|cookie)\s*:\s*)[^\r\n"'\\]+`), "${1}[redacted]"},
	// scheme://user:password@host in a URL (a Redis or node URL).
	{regexp.MustCompile(`([a-z][a-z0-9+.-]*://[^:/@\s"']*:)[^@/\s"']+@`), "${1}[redacted]@"},
	// /<chain>/<key>: a second path segment long enough to be a secret
	// (secrets are 16 to 256 characters of letters, digits and -_.~).
	{regexp.MustCompile(`(/[A-Za-z0-9_.~%-]+/)[A-Za-z0-9_.~%-]{16,}`), "${1}[redacted]"},
}

// Redact masks API keys and credentials in s.
func Redact(s string) string {
	if !mayHoldSecret(s) {
		return s
	}
	for _, r := range redactions {
		s = r.re.ReplaceAllString(s, r.with)
	}
	return s
}

// mayHoldSecret is a cheap pre-check: every pattern needs '=', ':' or a
// second '/'.
func mayHoldSecret(s string) bool {
	return strings.ContainsAny(s, "=:") || strings.Count(s, "/") >= 2
}

// RedactingLogLogger is slog.NewLogLogger with every message redacted:
// for net/http's ErrorLog and other log.Logger users.
func RedactingLogLogger(h slog.Handler, level slog.Level) *log.Logger {
	return log.New(redactWriter{h, level}, "", 0)
}

type redactWriter struct {
	h     slog.Handler
	level slog.Level
}

func (w redactWriter) Write(p []byte) (int, error) {
	ctx := context.Background()
	if !w.h.Enabled(ctx, w.level) {
		return len(p), nil
	}
	msg := Redact(strings.TrimSuffix(string(p), "\n"))
	r := slog.NewRecord(time.Now(), w.level, msg, 0)
	return len(p), w.h.Handle(ctx, r)
}
