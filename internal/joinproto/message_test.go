package joinproto

import (
	"errors"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	join := `{"type":"join","token":"s","chain":"eth","name":"d","url":"http://127.0.0.1:1","facts":{"chain_id":1,"head":5}}`
	cases := []struct {
		in   string
		ok   bool
		want string // in the error
	}{
		{join, true, ""},
		{`{"type":"heartbeat","facts":{"head":6,"peers":3}}`, true, ""},
		{`{"type":"leave"}`, true, ""},
		{`{"type":"refused","check":"chain_id","reason":"x"}`, true, ""},
		{`{"type":"refused"}`, false, "refused without check"},
		{`{"type":"join","chain":"eth","name":"d","url":"http://x","facts":{}}`, false, "without token"},
		{`{"type":"join","token":"s","chain":"eth","name":"a b","url":"http://x","facts":{}}`, false, "name"},
		{`{"type":"join","token":"s","chain":"e/th","name":"d","url":"http://x","facts":{}}`, false, "chain"},
		{`{"type":"join","token":"s","chain":"eth","name":"d","facts":{}}`, false, "without url"},
		{`{"type":"heartbeat"}`, false, "without facts"},
		{`{"type":"nope"}`, false, "unknown type"},
		{`{}`, false, "no type"},
		{`{"type":"leave","extra":1}`, false, "not a JSON object"},
		{`{"type":"leave"} {}`, false, "trailing"},
		{`[]`, false, "not a JSON object"},
		{`{"type":"leave","reason":"` + strings.Repeat("x", 2000) + `"}`, false, "longer than"},
	}
	for _, c := range cases {
		m, err := Decode([]byte(c.in))
		if c.ok {
			if err != nil {
				t.Errorf("%s: %v", c.in, err)
			}
			if again, err := Decode(Encode(m)); err != nil || again.Type != m.Type {
				t.Errorf("%s: does not round-trip: %v", c.in, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrBadMessage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.60s: err %v, want one containing %q", c.in, err, c.want)
		}
	}
}

// FuzzDecode: no input panics, and whatever Decode accepts encodes and
// decodes back to the same message.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"type":"join","token":"s","chain":"eth","name":"d","url":"http://127.0.0.1:1","facts":{"chain_id":1,"head":5}}`))
	f.Add([]byte(`{"type":"heartbeat","facts":{"head":6,"peers":3,"syncing":true}}`))
	f.Add([]byte(`{"type":"refused","check":"fork","reason":"r"}`))
	f.Add([]byte(`{"type":"leave"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Decode(Encode(m))
		if err != nil {
			t.Fatalf("accepted %q but not its own encoding: %v", b, err)
		}
		if again.Type != m.Type || again.Name != m.Name || again.Token != m.Token || again.URL != m.URL {
			t.Fatalf("round trip changed %+v to %+v", m, again)
		}
	})
}
