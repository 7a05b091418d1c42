package config

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestValidateProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data []byte
		want []wantProblem
	}{
		// The fleet's skeleton.
		{
			name: "no chains",
			data: yamlLines(`listen: 127.0.0.1:8545`),
			want: []wantProblem{{line: 1, msg: []string{"no chains"}, hint: []string{"chains:"}}},
		},
		{
			name: "empty chains",
			data: yamlLines(`listen: 127.0.0.1:8545`, `chains: {}`),
			want: []wantProblem{{line: 2, msg: []string{"no chains"}}},
		},
		{
			name: "missing chain_id",
			data: yamlLines(validChain[0], validChain[1], validChain[3], validChain[4], validChain[5], validChain[6], validChain[7]),
			want: []wantProblem{{line: 2, msg: []string{`chain "eth" has no chain_id`}, hint: []string{"chain_id: 1"}}},
		},
		{
			name: "zero chain_id",
			data: replaceLine(3, `    chain_id: 0`),
			want: []wantProblem{{line: 3, msg: []string{`chain "eth"`, "chain_id must be greater than 0"}}},
		},
		{
			name: "no nodes",
			data: yamlLines(`chains:`, `  eth:`, `    chain_id: 1`, `    groups: {default: {nodes: [a]}}`),
			want: []wantProblem{
				{line: 2, msg: []string{`chain "eth" has no nodes`}, hint: []string{"url"}},
				{line: 4, msg: []string{`names node "a"`}},
			},
		},
		{
			name: "no default group",
			data: replaceLine(8, `      logs: {methods: [eth_getLogs], nodes: [a]}`),
			want: []wantProblem{{line: 7, msg: []string{`chain "eth" has no "default" group`}, hint: []string{"default: {nodes: [a, b]}"}}},
		},
		{
			name: "no groups at all",
			data: yamlLines(validChain[:6]...),
			want: []wantProblem{{line: 2, msg: []string{`no "default" group`}}},
		},
		{
			name: "group without nodes",
			data: withChain(`      logs: {methods: [eth_getLogs]}`),
			want: []wantProblem{{line: 9, msg: []string{`group "logs" has no nodes`}, hint: []string{"nodes: [a, b]"}}},
		},
		{
			name: "bad chain name",
			data: replaceLine(2, `  "eth main":`),
			want: []wantProblem{{line: 2, msg: []string{`chain name "eth main"`}, hint: []string{"letters, digits"}}},
		},
		{
			name: "bad node name",
			data: yamlLines(append(validChain[:5:5], `      -b: {url: "http://10.0.0.2:8545"}`, validChain[6], `      default: {nodes: [a, -b]}`)...),
			want: []wantProblem{{line: 6, msg: []string{`node name "-b"`}}},
		},
		{
			name: "bad group name",
			data: withChain(`      "lo gs": {methods: [eth_getLogs], nodes: [a]}`),
			want: []wantProblem{{line: 9, msg: []string{`group name "lo gs"`}}},
		},

		// URLs.
		{
			name: "node url with the wrong scheme",
			data: replaceLine(5, `      a: {url: "ws://10.0.0.1:8545"}`),
			want: []wantProblem{{line: 5, msg: []string{`node "a"`, `"ws://10.0.0.1:8545"`, "http://"}, hint: []string{`url: "http://10.0.0.1:8545"`}}},
		},
		{
			name: "node url without a host",
			data: replaceLine(5, `      a: {url: "http:///rpc"}`),
			want: []wantProblem{{line: 5, msg: []string{`node "a"`, "with a host"}}},
		},
		{
			name: "node url that is not a url",
			data: replaceLine(5, `      a: {url: "10.0.0.1:8545"}`),
			want: []wantProblem{{line: 5, msg: []string{`node "a"`}, hint: []string{"http://"}}},
		},
		{
			name: "node url missing",
			data: replaceLine(5, `      a: {weight: 2}`),
			want: []wantProblem{{line: 5, msg: []string{`node "a" has no url`}}},
		},
		{
			name: "node url credentials are redacted",
			data: replaceLine(5, `      a: {url: "ftp://user:pw@host/?key=secret"}`),
			want: []wantProblem{{line: 5, msg: []string{`node "a"`, "xxxxx"}}},
		},
		{
			name: "ws with the wrong scheme",
			data: replaceLine(5, `      a: {url: "http://10.0.0.1:8545",`, `          ws: "http://10.0.0.1:8546"}`),
			want: []wantProblem{{line: 6, msg: []string{`node "a"`, "ws://"}, hint: []string{`ws: "ws://10.0.0.1:8546"`}}},
		},

		// Groups and their references.
		{
			name: "group names a missing node, close to one",
			data: replaceLine(8, `      default: {nodes: [a, bb]}`),
			want: []wantProblem{{line: 8, msg: []string{`group "default"`, `node "bb"`, `chain "eth"`}, hint: []string{`did you mean "b"?`, "a, b"}}},
		},
		{
			name: "group names a missing node, nothing close",
			data: withChain(`      logs:`, `        methods: [eth_getLogs]`, `        nodes:`, `          - a`, `          - archive`),
			want: []wantProblem{{line: 13, msg: []string{`group "logs"`, `node "archive"`}, hint: []string{"nodes of eth: a, b"}}},
		},
		{
			name: "group lists a node twice",
			data: replaceLine(8, `      default: {nodes: [a, b, a]}`),
			want: []wantProblem{{line: 8, msg: []string{`group "default" lists node "a" twice`}}},
		},
		{
			name: "a method claimed by two groups",
			data: withChain(
				`      logs: {methods: [eth_getLogs], nodes: [a]}`,
				`      archive: {methods: [eth_getBalance, eth_getLogs], nodes: [b]}`),
			want: []wantProblem{{line: 10,
				msg:  []string{`"eth_getLogs"`, `"logs" (line 9)`, `"archive" (line 10)`},
				hint: []string{"one group"}}},
		},
		{
			name: "a glob claimed by two groups",
			data: withChain(
				`      debug: {methods: ["debug_*"], nodes: [a]}`,
				`      trace:`,
				`        methods: ["trace_*", "debug_*"]`,
				`        nodes: [b]`),
			want: []wantProblem{{line: 11, msg: []string{`"debug_*"`, `"debug" (line 9)`, `"trace" (line 11)`}}},
		},
		{
			name: "a method listed twice in one group",
			data: withChain(`      logs: {methods: [eth_getLogs, eth_getLogs], nodes: [a]}`),
			want: []wantProblem{{line: 9, msg: []string{`group "logs" lists method "eth_getLogs" twice`}}},
		},
		{
			name: "default lists methods",
			data: replaceLine(8, `      default: {nodes: [a, b], methods: [eth_call]}`),
			want: []wantProblem{{line: 8, msg: []string{`"default" group may not list methods`}}},
		},
		{
			name: "invalid method pattern in a group",
			data: withChain(`      logs: {methods: ["eth-getLogs"], nodes: [a]}`),
			want: []wantProblem{{line: 9, msg: []string{`"eth-getLogs"`}, hint: []string{"debug_*"}}},
		},
		{
			name: "invalid glob syntax",
			data: withChain(`      logs: {methods: ["eth_[get"], nodes: [a]}`),
			want: []wantProblem{{line: 9, msg: []string{`"eth_[get"`}}},
		},
		{
			name: "invalid patterns in allow, deny and writes",
			data: withChain(`    methods: {allow: ["eth call"], deny: ["debug_?"]}`, `    writes: [""]`),
			want: []wantProblem{
				{line: 9, msg: []string{`"eth call"`}},
				{line: 9, msg: []string{`"debug_?"`}},
				{line: 10, msg: []string{`""`}},
			},
		},
		{
			name: "invalid method_timeouts key",
			data: withChain(`    method_timeouts:`, `      eth.getLogs: 30s`),
			want: []wantProblem{{line: 10, msg: []string{`"eth.getLogs"`}}},
		},

		// Fallbacks.
		{
			name: "fallback to a missing group",
			data: withChain(`      logs: {methods: [eth_getLogs], nodes: [a], fallback: defualt}`),
			want: []wantProblem{{line: 9, msg: []string{`group "logs" falls back to "defualt"`, `chain "eth"`}, hint: []string{`did you mean "default"?`, "default, logs"}}},
		},
		{
			name: "fallback to itself",
			data: withChain(`      logs: {methods: [eth_getLogs], nodes: [a], fallback: logs}`),
			want: []wantProblem{{line: 9, msg: []string{`group "logs" falls back to itself`}}},
		},
		{
			name: "fallback loop",
			data: withChain(
				`      logs: {methods: [eth_getLogs], nodes: [a], fallback: trace}`,
				`      trace: {methods: ["trace_*"], nodes: [b], fallback: debug}`,
				`      debug: {methods: ["debug_*"], nodes: [b], fallback: trace}`),
			want: []wantProblem{{line: 11, msg: []string{"loop", "debug → trace → debug"}}},
		},
		{
			name: "fallback chain into default is fine, default falling back loops",
			data: replaceLine(8, `      default: {nodes: [a, b], fallback: logs}`,
				`      logs: {methods: [eth_getLogs], nodes: [a], fallback: default}`),
			want: []wantProblem{{line: 8, msg: []string{"default → logs → default"}}},
		},

		// Numbers and durations.
		{
			name: "negative weight, workers and queue",
			data: replaceLine(5, `      a: {url: "http://10.0.0.1:8545", weight: -1,`, `          workers: -2, queue: -3}`),
			want: []wantProblem{
				{line: 5, msg: []string{"weight must be at least 1", "-1"}},
				{line: 6, msg: []string{"workers must be at least 1"}},
				{line: 6, msg: []string{"queue must be at least 0"}},
			},
		},
		{
			name: "max_attempts too high",
			data: withChain(`    max_attempts: 11`),
			want: []wantProblem{{line: 9, msg: []string{"max_attempts must be between 1 and 10", "11"}}},
		},
		{
			name: "negative durations",
			data: withChain(`    timeout: -1s`, `    poll_interval: -5ms`, `    method_timeouts: {eth_call: -1s}`),
			want: []wantProblem{
				{line: 9, msg: []string{"timeout must be longer than zero"}},
				{line: 10, msg: []string{"poll_interval"}},
				{line: 11, msg: []string{"eth_call"}},
			},
		},
		{
			name: "zero method timeout (no default to replace it)",
			data: withChain(`    method_timeouts: {eth_call: 0s}`),
			want: []wantProblem{{line: 9, msg: []string{"eth_call must be longer than zero"}}},
		},
		{
			name: "backoff_min above backoff_max",
			data: withChain(`    health:`, `      backoff_max: 5s`, `      backoff_min: 10s`),
			want: []wantProblem{{line: 11, msg: []string{"backoff_min (10s)", "backoff_max (5s, line 10)"}}},
		},
		{
			name: "backoff_min above the default backoff_max",
			data: withChain(`    health: {backoff_min: 1m}`),
			want: []wantProblem{{line: 9, msg: []string{"backoff_min (1m0s)", "backoff_max (30s"}}},
		},
		{
			name: "negative limits and fail threshold",
			data: withChain(`    health: {fail_threshold: -1}`, `limits: {max_body_bytes: -1}`),
			want: []wantProblem{
				{line: 9, msg: []string{"fail_threshold must be at least 1"}},
				{line: 10, msg: []string{"max_body_bytes must be at least 1"}},
			},
		},

		// Hosts and listeners.
		{
			name: "host claimed by two chains",
			data: withChain(
				`    hosts: [eth.rpc.example]`,
				`  eth2:`,
				`    chain_id: 5`,
				`    hosts: [other.example, ETH.rpc.example]`,
				`    nodes: {x: {url: "http://10.0.0.5:8545"}}`,
				`    groups: {default: {nodes: [x]}}`),
			want: []wantProblem{{line: 12, msg: []string{`"ETH.rpc.example"`, `"eth" (line 9)`, `"eth2" (line 12)`}, hint: []string{"one chain"}}},
		},
		{
			name: "host with a port",
			data: withChain(`    hosts: ["eth.rpc.example:443"]`),
			want: []wantProblem{{line: 9, msg: []string{`"eth.rpc.example:443"`}, hint: []string{"without scheme, port"}}},
		},
		{
			name: "listen without a port",
			data: withChain(`listen: 127.0.0.1`),
			want: []wantProblem{{line: 9, msg: []string{`listen "127.0.0.1" is not host:port`}, hint: []string{"127.0.0.1:8545"}}},
		},
		{
			name: "listen with a bad port",
			data: withChain(`listen: "127.0.0.1:http"`),
			want: []wantProblem{{line: 9, msg: []string{"no valid port"}}},
		},
		{
			name: "admin.listen without a port",
			data: withChain(`admin: {listen: localhost}`),
			want: []wantProblem{{line: 9, msg: []string{`admin.listen "localhost"`}}},
		},
		{
			name: "public admin.listen without a token",
			data: withChain(`admin:`, `  listen: 0.0.0.0:8546`),
			want: []wantProblem{{line: 10, msg: []string{"admin.listen", "admin.token is empty"}, hint: []string{"set admin.token or bind admin.listen to 127.0.0.1"}}},
		},
		{
			name: "private snapshots without an admin listener",
			data: withChain(`snapshots:`, `  dir: /srv/snapshots`),
			want: []wantProblem{{line: 10, msg: []string{"snapshots.dir is set", "admin.listen is empty"}, hint: []string{"snapshots.public: true"}}},
		},
		{
			name: "all-interfaces admin.listen without a token",
			data: withChain(`admin: {listen: ":8546", token: "  "}`),
			want: []wantProblem{{line: 9, msg: []string{"admin.token is empty"}}},
		},

		// Headers.
		{
			name: "bad header name",
			data: replaceLine(5, `      a: {url: "http://10.0.0.1:8545", headers: {"X Key": v}}`),
			want: []wantProblem{{line: 5, msg: []string{`"X Key"`, "header name"}}},
		},

		// Plans (issue 4).
		{
			name: "bad plan name",
			data: withChain(`plans: {"pro plan": {priority: high}}`),
			want: []wantProblem{{line: 9, msg: []string{`plan name "pro plan"`}, hint: []string{"letters, digits"}}},
		},
		{
			name: "priority close to a valid one",
			data: withChain(`plans:`, `  pro: {priority: fast_track}`),
			want: []wantProblem{{line: 10, msg: []string{`plan "pro"`, `priority "fast_track"`},
				hint: []string{`did you mean "fast-track"?`, "fast-track, high or low"}}},
		},
		{
			name: "priority nowhere near a valid one",
			data: withChain(`plans:`, `  pro:`, `    priority: urgent`),
			want: []wantProblem{{line: 11, msg: []string{`priority "urgent" is not one of fast-track, high, low`},
				hint: []string{"write priority: fast-track, high or low"}}},
		},
		{
			name: "rate per_second zero, negative, infinite and missing",
			data: withChain(`plans:`,
				`  a: {rate: {per_second: 0}}`,
				`  b: {rate: {per_second: -1}}`,
				`  c: {rate: {per_second: .inf}}`,
				`  d:`,
				`    rate: {burst: 5}`),
			want: []wantProblem{
				{line: 10, msg: []string{`plan "a"`, "per_second must be a number greater than 0", "got 0"}, hint: []string{"remove rate for no limit"}},
				{line: 11, msg: []string{`plan "b"`, "got -1"}},
				{line: 12, msg: []string{`plan "c"`, "+Inf"}},
				{line: 14, msg: []string{`plan "d": rate has no per_second`}, hint: []string{"per_second: 10"}},
			},
		},
		{
			name: "negative burst",
			data: withChain(`plans: {pro: {rate: {per_second: 10, burst: -1}}}`),
			want: []wantProblem{{line: 9, msg: []string{`plan "pro"`, "burst must be at least 1", "-1"}, hint: []string{"per_second rounded up"}}},
		},
		{
			name: "negative quotas",
			data: withChain(`plans:`, `  pro:`, `    quota: {daily: -1, monthly: -2}`),
			want: []wantProblem{
				{line: 11, msg: []string{`plan "pro"`, "quota.daily must be at least 0", "-1"}, hint: []string{"no cap"}},
				{line: 11, msg: []string{"quota.monthly", "-2"}},
			},
		},
		{
			name: "plan names a missing chain",
			data: withChain(`plans:`, `  pro:`, `    chains: [eth, eht, polygon]`),
			want: []wantProblem{
				{line: 11, msg: []string{`plan "pro" names chain "eht"`}, hint: []string{`did you mean "eth"?`, "chains: eth"}},
				{line: 11, msg: []string{`plan "pro" names chain "polygon"`}, hint: []string{"chains: eth"}},
			},
		},
		{
			name: "plan method patterns",
			data: withChain(`plans:`, `  pro:`, `    methods: {allow: ["eth call"], deny: ["debug_[x"]}`),
			want: []wantProblem{
				{line: 11, msg: []string{`"eth call" is not a method name or glob`}, hint: []string{"debug_*"}},
				{line: 11, msg: []string{`"debug_[x"`}},
			},
		},

		// Keys.
		{
			name: "key without a name, with a bad name, and a name used twice",
			data: withChain(`plans: {pro: {}}`, `keys:`,
				`  - {key: s1, plan: pro}`,
				`  - {name: "al ice", key: s2, plan: pro}`,
				`  - {name: bob, key: s3, plan: pro}`,
				`  - {name: bob, key: s4, plan: pro}`),
			want: []wantProblem{
				{line: 11, msg: []string{"keys[0] has no name"}, hint: []string{"name: alice"}},
				{line: 12, msg: []string{`key name "al ice" is not valid`}, hint: []string{"letters, digits"}},
				{line: 14, msg: []string{`key name "bob" is used twice (first at line 13)`}},
			},
		},
		{
			name: "key with both key and hash, and one with neither",
			data: withChain(`plans: {pro: {}}`, `keys:`,
				`  - name: alice`,
				`    key: s1`,
				`    hash: "sha256:`+strings.Repeat("a", 64)+`"`,
				`    plan: pro`,
				`  - {name: bob, plan: pro}`),
			want: []wantProblem{
				{line: 13, msg: []string{`key "alice" sets both key and hash`}, hint: []string{"keep one"}},
				{line: 15, msg: []string{`key "bob" has neither key nor hash`}, hint: []string{"${ALICE_KEY}", "sha256:"}},
			},
		},
		{
			name: "malformed hashes",
			data: withChain(`plans: {pro: {}}`, `keys:`,
				`  - {name: a, plan: pro, hash: "sha256:`+strings.Repeat("A", 64)+`"}`,
				`  - {name: b, plan: pro, hash: "`+strings.Repeat("a", 64)+`"}`,
				`  - {name: c, plan: pro, hash: "sha256:abc"}`,
				`  - {name: d, plan: pro, hash: ""}`),
			want: []wantProblem{
				{line: 11, msg: []string{`key "a": hash`, "64 lowercase hex digits"}, hint: []string{"sha256sum"}},
				{line: 12, msg: []string{`key "b": hash`}},
				{line: 13, msg: []string{`key "c": hash "sha256:abc"`}},
				{line: 14, msg: []string{`key "d": hash ""`}},
			},
		},
		{
			name: "empty secrets",
			data: withChain(`plans: {pro: {}}`, `keys:`,
				`  - {name: a, plan: pro, key: ""}`,
				`  - {name: b, plan: pro, key: "${EMPTY}"}`,
				`  - {name: c, plan: pro, key: "  "}`),
			want: []wantProblem{
				{line: 11, msg: []string{`key "a": key is empty`}, hint: []string{"${ALICE_KEY}"}},
				{line: 12, msg: []string{`key "b": key is empty`}},
				{line: 13, msg: []string{`key "c": key is empty`}},
			},
		},
		{
			name: "two keys share a secret, written as key and as hash",
			data: withChain(`plans: {pro: {}}`, `keys:`,
				`  - {name: alice, plan: pro, key: s1}`,
				`  - {name: bob, plan: pro, key: s2}`,
				`  - {name: carol, plan: pro, hash: "sha256:`+sha256Hex("s1")+`"}`,
				`  - {name: dave, plan: pro, key: s2}`),
			want: []wantProblem{
				{line: 13, msg: []string{`key "carol" has the same secret as key "alice" (line 11)`}, hint: []string{"its own secret"}},
				{line: 14, msg: []string{`key "dave" has the same secret as key "bob" (line 12)`}},
			},
		},
		{
			name: "key without a plan and with a missing plan",
			data: withChain(`plans: {pro: {}, basic: {}}`, `keys:`,
				`  - {name: alice, key: s1}`,
				`  - {name: bob, key: s2, plan: por}`,
				`  - {name: carol, key: s3, plan: enterprise}`),
			want: []wantProblem{
				{line: 11, msg: []string{`key "alice" has no plan`}, hint: []string{"plan:", "basic, pro"}},
				{line: 12, msg: []string{`key "bob" names plan "por", which is not defined`}, hint: []string{`did you mean "pro"?`, "plans: basic, pro"}},
				{line: 13, msg: []string{`plan "enterprise"`}, hint: []string{"plans: basic, pro"}},
			},
		},
		{
			name: "key names a plan when no plans exist",
			data: withChain(`keys: [{name: alice, key: s1, plan: pro}]`),
			want: []wantProblem{{line: 9, msg: []string{`plan "pro", which is not defined`}, hint: []string{"no plans are defined", "plans: {pro:"}}},
		},
		{
			name: "unset ${VAR} in a key is reported once",
			data: withChain(`plans: {pro: {}}`, `keys: [{name: alice, key: "${ALICE_KEY}", plan: pro}]`),
			want: []wantProblem{{line: 10, msg: []string{"${ALICE_KEY} is not set"}, hint: []string{"export ALICE_KEY"}}},
		},

		// Tenancy.
		{
			name: "costs: bad names, globs and values",
			data: withChain(`tenancy:`, `  costs:`,
				`    "debug_*": 20`,
				`    eth.call: 2`,
				`    eth_getLogs: 0`,
				`    eth_call: -3`),
			want: []wantProblem{
				{line: 11, msg: []string{`costs: "debug_*" is not a method name`}, hint: []string{"not globs"}},
				{line: 12, msg: []string{`costs: "eth.call" is not a method name`}, hint: []string{"exact method name"}},
				{line: 13, msg: []string{"eth_getLogs must be at least 1, got 0"}, hint: []string{"default_cost"}},
				{line: 14, msg: []string{"eth_call must be at least 1, got -3"}},
			},
		},
		{
			name: "negative default_cost",
			data: withChain(`tenancy: {default_cost: -1}`),
			want: []wantProblem{{line: 9, msg: []string{"default_cost must be at least 1"}}},
		},
		{
			name: "trusted_proxies that are not CIDRs",
			data: withChain(`tenancy:`, `  trusted_proxies:`, `    - 10.0.0.0/8`, `    - 10.0.0.0/33`, `    - proxy.example`, `    - 10.0.0.1`),
			want: []wantProblem{
				{line: 12, msg: []string{`trusted_proxies: "10.0.0.0/33" is not a CIDR`}, hint: []string{"write 10.0.0.0/8"}},
				{line: 13, msg: []string{`"proxy.example"`}, hint: []string{"write 10.0.0.0/8"}},
			},
		},
		{
			name: "on_redis_error",
			data: withChain(`tenancy: {on_redis_error: close}`),
			want: []wantProblem{{line: 9, msg: []string{`on_redis_error "close" is not one of open, closed`}, hint: []string{`did you mean "closed"?`}}},
		},
		{
			name: "shared_limits without redis",
			data: withChain(`tenancy:`, `  shared_limits: true`),
			want: []wantProblem{{line: 10, msg: []string{"shared_limits is true but registry.redis is not set"}, hint: []string{"set registry.redis"}}},
		},

		// Chain keys and scheduling.
		{
			name: "chain keys mode misspelt",
			data: withChain(`    keys: requierd`),
			want: []wantProblem{{line: 9, msg: []string{`chain "eth": keys "requierd"`}, hint: []string{`did you mean "required"?`, "optional or required"}}},
		},
		{
			name: "keys required without any plan",
			data: withChain(`    keys: required`),
			want: []wantProblem{{line: 9, msg: []string{`chain "eth" requires keys but no plans are defined`}, hint: []string{"plans:", "keys: optional"}}},
		},
		{
			name: "scheduling out of range",
			data: withChain(`    scheduling:`,
				`      fast_track_per_high: -1`,
				`      low_share: 1.5`,
				`      low_after: -1s`,
				`      queue: {fast_track: -1, high: -2, low: -3}`),
			want: []wantProblem{
				{line: 10, msg: []string{"fast_track_per_high must be at least 1"}},
				{line: 11, msg: []string{"low_share must be greater than 0 and at most 1, got 1.5"}, hint: []string{"0.1"}},
				{line: 12, msg: []string{"low_after must be longer than zero"}},
				{line: 13, msg: []string{"fast_track must be at least 1"}},
				{line: 13, msg: []string{"high must be at least 1"}},
				{line: 13, msg: []string{"low must be at least 1"}},
			},
		},
		{
			name: "negative low_share",
			data: withChain(`    scheduling: {low_share: -0.1}`),
			want: []wantProblem{{line: 9, msg: []string{"low_share", "-0.1"}}},
		},
	}
	env := envOf("EMPTY", "") // a variable that is set but empty
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkProblems(t, parseProblems(t, tt.data, env), tt.want...)
		})
	}
}

func TestLoopbackAdminNeedsNoToken(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:8546", "127.0.0.2:8546", "[::1]:8546", "localhost:8546"} {
		if _, err := Parse("test.yaml", withChain(`admin: {listen: "`+addr+`"}`), envOf()); err != nil {
			t.Errorf("admin.listen %s without token: %v", addr, err)
		}
	}
	if _, err := Parse("test.yaml", withChain(`admin: {listen: "0.0.0.0:8546", token: t}`), envOf()); err != nil {
		t.Errorf("public admin.listen with a token: %v", err)
	}
}

// One file with many mistakes reports every one of them, in line order.
func TestManyProblemsAtOnce(t *testing.T) {
	t.Parallel()
	data := yamlLines(
		`listen: 127.0.0.1`,                      // 1: no port
		`admin: {listen: "0.0.0.0:8546"}`,        // 2: public, no token
		`chainz: {}`,                             // 3: unknown key
		`chains:`,                                // 4
		`  eth:`,                                 // 5
		`    max_attempts: 20`,                   // 6: out of range (and chain_id missing, line 5)
		`    timeout: 5`,                         // 7: bare number
		`    nodes:`,                             // 8
		`      a: {url: "ftp://x", weight: -1}`,  // 9: bad url, bad weight
		`      b: {url: "http://b", workers: x}`, // 10: not a number
		`    groups:`,                            // 11
		`      default: {nodes: [a, c]}`,         // 12: missing node
		`      logs: {methods: [eth_getLogs], nodes: [b], fallback: nope}`, // 13: missing group
		`      more: {methods: [eth_getLogs], nodes: [b]}`,                 // 14: claimed twice
	)
	ps := parseProblems(t, data, envOf())
	checkProblems(t, ps,
		wantProblem{line: 1, msg: []string{"listen"}},
		wantProblem{line: 2, msg: []string{"admin.token"}},
		wantProblem{line: 3, msg: []string{"chainz"}},
		wantProblem{line: 5, msg: []string{"chain_id"}},
		wantProblem{line: 6, msg: []string{"max_attempts"}},
		wantProblem{line: 7, msg: []string{"timeout"}},
		wantProblem{line: 9, msg: []string{"url"}},
		wantProblem{line: 9, msg: []string{"weight"}},
		wantProblem{line: 10, msg: []string{"workers"}},
		wantProblem{line: 12, msg: []string{`"c"`}},
		wantProblem{line: 13, msg: []string{`"nope"`}},
		wantProblem{line: 14, msg: []string{"eth_getLogs", "logs", "more"}},
	)
	// The rendered error has one line per problem, each file:line:col.
	lines := strings.Split(ps.Error(), "\n")
	if len(lines) != len(ps) {
		t.Fatalf("Error() has %d lines for %d problems", len(lines), len(ps))
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, "test.yaml:") {
			t.Errorf("line %d %q does not start with the file name", i, l)
		}
	}
}

// Names with dots are quoted in paths; lines must still be found through them.
func TestDottedNamesKeepLines(t *testing.T) {
	t.Parallel()
	data := yamlLines(
		`chains:`,
		`  eth.main:`,
		`    chain_id: 1`,
		`    hosts: [a.example]`,
		`    nodes:`,
		`      node.1: {url: "ftp://x"}`,
		`    groups:`,
		`      default: {nodes: [node.1]}`,
		`  eth.test:`,
		`    chain_id: 5`,
		`    hosts: [a.example]`,
		`    nodes: {n: {url: "http://n"}}`,
		`    groups: {default: {nodes: [n]}}`,
	)
	ps := parseProblems(t, data, nil)
	checkProblems(t, ps,
		wantProblem{line: 6, msg: []string{`node "node.1"`}},
		wantProblem{line: 11, msg: []string{`"eth.main" (line 4)`, `"eth.test" (line 11)`}},
	)
	if ps[0].Path != `chains["eth.main"].nodes["node.1"].url` {
		t.Errorf("path = %s", ps[0].Path)
	}
}

// Problems in plans, keys, tenancy and scheduling are collected together
// with the rest, in line order.
func TestTenancyProblemsAllAtOnce(t *testing.T) {
	t.Parallel()
	data := withChain(
		`    keys: mandatory`, // 9
		`plans:`,              // 10
		`  pro: {priority: top, rate: {per_second: 0}}`, // 11: priority, per_second
		`keys:`,                                 // 12
		`  - {name: alice, key: s1, plan: pr}`,  // 13: plan
		`  - {name: alice, key: s1, plan: pro}`, // 14: name twice, same secret
		`tenancy: {default_cost: -1, trusted_proxies: [nope], on_redis_error: x}`, // 15: three
	)
	checkProblems(t, parseProblems(t, data, envOf()),
		wantProblem{line: 9, msg: []string{"keys"}},
		wantProblem{line: 11, msg: []string{"priority"}},
		wantProblem{line: 11, msg: []string{"per_second"}},
		wantProblem{line: 13, msg: []string{`"pr"`}},
		wantProblem{line: 14, msg: []string{"used twice"}},
		wantProblem{line: 14, msg: []string{"same secret"}},
		wantProblem{line: 15, msg: []string{"default_cost"}},
		wantProblem{line: 15, msg: []string{"nope"}},
		wantProblem{line: 15, msg: []string{"on_redis_error"}},
	)
}

func TestKeysRequiredWithPlansNeedsNoKeys(t *testing.T) {
	t.Parallel()
	// Keys may be added at run time through the admin API.
	if _, err := Parse("test.yaml", withChain(`    keys: required`, `plans: {pro: {priority: high}}`), envOf()); err != nil {
		t.Fatal(err)
	}
}

func TestSharedLimitsWithRedis(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("test.yaml", withChain(`registry: {redis: "redis://127.0.0.1:6379/0"}`, `tenancy: {shared_limits: true}`), envOf())
	if err != nil {
		t.Fatal(err)
	}
	if !*cfg.Tenancy.SharedLimits {
		t.Error("shared_limits: true was lost")
	}
}
