package config

import (
	"strings"
	"testing"
)

func TestCacheValidation(t *testing.T) {
	t.Parallel()
	base := "listen: 127.0.0.1:1\nchains:\n  eth:\n    chain_id: 1\n    nodes: {a: {url: \"http://127.0.0.1:2\"}}\n    groups: {default: {nodes: [a]}}\n"
	cases := []struct{ extra, want string }{
		{"    cache: {methods: {eth_call: sometimes}}\n", `rpcgate.yaml:7:33: cache policy "sometimes" is not one of off, finalized, unfinalized`},
		{"    cache: {max_bytes: -1}\n", "rpcgate.yaml:7:24: max_bytes must not be negative"},
		{"    cache: {finality_poll: -1s}\n", "rpcgate.yaml:7:28: finality_poll must be longer than zero"},
		{"    cache: {unfinalized_ttl: -1s}\n", "rpcgate.yaml:7:30: unfinalized_ttl must not be negative"},
	}
	for _, c := range cases {
		_, err := Parse("rpcgate.yaml", []byte(base+c.extra), envOf())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to mention %q", c.extra, err, c.want)
		}
	}
	cfg, err := Parse("rpcgate.yaml", []byte(base+"    cache: {methods: {eth_call: off}}\n"), envOf())
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Chains["eth"].Cache; c.MaxBytes != DefaultCacheMaxBytes || c.UnfinalizedTTL.D() != DefaultUnfinalizedTTL || c.RedisPrefix != DefaultCacheRedisPfx {
		t.Errorf("defaults not applied: %+v", c)
	}
	if d := *cfg.Chains["eth"].FinalityDepth; d != DefaultFinalityDepth {
		t.Errorf("finality_depth default %d", d)
	}
}
