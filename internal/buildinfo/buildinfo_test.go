package buildinfo

import (
	"strings"
	"testing"
)

func TestStringNamesEveryField(t *testing.T) {
	i := Info{Version: "v1.2.3", Commit: "abc123", Date: "2026-01-02T03:04:05Z", GoVersion: "go1.26"}
	s := i.String()
	for _, want := range []string{"rpcgate v1.2.3", "commit abc123", "built 2026-01-02T03:04:05Z", "go1.26"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() = %q, missing %q", s, want)
		}
	}
}
