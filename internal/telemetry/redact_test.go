package telemetry

import (
	"strings"
	"testing"
)

// Keys in a path, a query, headers and URLs never survive Redact (issue 8,
// defect 6).
func TestRedact(t *testing.T) {
	t.Parallel()
	const key = "s3cret-0123456789abcdef"
	for _, in := range []string{
		"POST /eth/" + key + " HTTP/1.1",
		"POST /eth/" + key + "/x HTTP/1.1",
		"POST /eth?key=" + key + " HTTP/1.1",
		"POST /eth?a=1&key=" + key + "&b=2 HTTP/1.1",
		"X-Api-Key: " + key + "\r\nHost: x",
		"x-api-key:" + key,
		"Authorization: Bearer " + key,
		`error "POST /eth/` + key + ` HTTP/1.1\r\nX-Api-Key: ` + key + `\r\n"`,
		"dial redis://default:" + key + "@10.0.0.5:6379 failed",
	} {
		if out := Redact(in); strings.Contains(out, key) || !strings.Contains(out, "[redacted]") {
			t.Errorf("Redact(%q) = %q", in, out)
		}
	}
	for _, in := range []string{"request", "GET /status HTTP/1.1", "node a: dial tcp 127.0.0.1:1: refused"} {
		if out := Redact(in); out != in {
			t.Errorf("Redact(%q) = %q, want it unchanged", in, out)
		}
	}
}
