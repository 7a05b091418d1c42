package config

import (
	"strings"
	"testing"
	"time"
)

// The relayer example is a contract run by outside checks: it loads as
// written and means what issue 9 says.
func TestRelayerExample(t *testing.T) {
	t.Parallel()
	cfg := parseExample(t, "relayer.yaml")
	eth := cfg.Chains["eth"]
	if eth == nil {
		t.Fatal("no chain eth")
	}
	def, ver := eth.Groups["default"], eth.Groups["verified"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", cfg.Listen, "127.0.0.1:18545"},
		{"admin token", cfg.Admin.Token, "test-token"},
		{"chain_id", eth.ChainID, uint64(1337)},
		{"broadcast", eth.BroadcastWrites, true},
		{"node b", eth.Nodes["b"].URL, "http://127.0.0.1:19102"},
		{"hedge after", def.Hedge.After.D(), 100 * time.Millisecond},
		{"hedge max default", def.Hedge.Max, 1},
		{"verified methods", len(ver.Methods), 4},
		{"mode", ver.Consensus.Mode, "quorum"},
		{"participants", ver.Consensus.Participants, 3},
		{"agree", ver.Consensus.Agree, 2},
		{"on_dispute", ver.Consensus.OnDispute, "error"},
		{"low default", ver.Consensus.LowParticipants, "accept_most_common"},
		{"quarantine_after", eth.Reputation.QuarantineAfter, 3},
		{"cool_off", eth.Reputation.CoolOff.D(), 30 * time.Second},
		{"shadow default", eth.Reputation.ShadowChecks, 3},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestRelayerValidation(t *testing.T) {
	t.Parallel()
	base := `chains:
  eth:
    chain_id: 1
    nodes: {a: {url: "http://127.0.0.1:1"}, b: {url: "http://127.0.0.1:2"}}
    groups:
      default: {nodes: [a, b]%s}
%s`
	cases := []struct{ group, chain, want string }{
		{", consensus: {mode: majority}", "", `mode "majority" is not one of`},
		{", consensus: {mode: quorum, participants: 2, agree: 3}", "", "agree must be between 1 and participants (2), got 3"},
		{", consensus: {mode: quorum, on_dispute: vote}", "", `on_dispute "vote"`},
		{", consensus: {mode: quorum, ignore_fields: {eth_getBlockByNumber: [\"a..b\"]}}", "", `"a..b" is not a dot path`},
		{", hedge: {max: 9}", "", "max must be between 1 and 4, got 9"},
		{"", "    reputation: {quarantine_after: 0}\n", "would be replaced by the default 3"},
		{"", "    reputation: {quarantine_after: 1000}\n", "quarantine_after must be between 1 and 100"},
	}
	for _, c := range cases {
		text := strings.Replace(strings.Replace(base, "%s", c.group, 1), "%s", c.chain, 1)
		_, err := Parse("x.yaml", []byte(text), envOf())
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q%q: unexpected error %v", c.group, c.chain, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q%q: error %v, want it to say %q", c.group, c.chain, err, c.want)
		}
	}
}
