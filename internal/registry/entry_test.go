package registry

import (
	"errors"
	"strings"
	"testing"

	"github.com/rpcgate/rpcgate/internal/nodespec"
)

// An entry's node is judged by nodespec, as a config file's node is: the
// header names the admin API let through before (and the config refused),
// upper-case schemes, and the maxima.
func TestEntryValidateUsesNodeSpec(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		e    Entry
		want string // "" = valid; else the nodespec message it must carry
	}{
		{"valid", Entry{Chain: "eth", Name: "x", URL: "http://10.0.0.1:8545"}, ""},
		{"upper-case scheme", Entry{Chain: "eth", Name: "x", URL: "HTTPS://node.example", WS: "WSS://node.example"}, ""},
		{"groups only", Entry{Chain: "eth", Name: "x", Groups: []string{"default"}}, ""},
		{"header name", Entry{Chain: "eth", Name: "x", URL: "http://h", Headers: map[string]string{"X Key": "v"}}, `node "x": "X Key" is not a valid HTTP header name`},
		{"weight", Entry{Chain: "eth", Name: "x", URL: "http://h", Weight: 1001}, `node "x": weight must be at most 1000, got 1001`},
		{"workers", Entry{Chain: "eth", Name: "x", URL: "http://h", Workers: -1}, `node "x": workers must be at least 1, got -1`},
		{"port without host", Entry{Chain: "eth", Name: "x", URL: "http://:8545"}, "is not an http:// or https:// URL with a host"},
	} {
		err := tc.e.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want valid", tc.name, err)
		case tc.want != "" && (!errors.Is(err, ErrInvalidEntry) || !strings.Contains(errText(err), tc.want)):
			t.Errorf("%s: %v, want ErrInvalidEntry saying %q", tc.name, err, tc.want)
		}
	}
	// The entry's node has nodespec's defaults.
	s := Entry{Chain: "eth", Name: "x", URL: "http://h", Workers: 4}.Spec()
	if s.Weight != nodespec.DefaultWeight || s.Queue != 32 || s.MaxRequestBytes != nodespec.DefaultMaxRequestBytes {
		t.Errorf("entry spec %+v lacks nodespec's defaults", s)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
