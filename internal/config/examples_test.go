package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const examplesDir = "../../examples"

var examplesEnv = envOf("RPCGATE_ADMIN_TOKEN", "test-token", "NODE_A_TOKEN", "node-a-token", "ALICE_KEY", "alice-secret", "RPCGATE_JOIN_SECRET", "join-secret", "RPCGATE_STORE_URL", "postgres://127.0.0.1:5432/test")

func parseExample(t *testing.T, name string) *Config {
	t.Helper()
	path := filepath.Join(examplesDir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(path, data, examplesEnv)
	if err != nil {
		t.Fatalf("%s does not load:\n%v", name, err)
	}
	return cfg
}

func TestEveryExampleLoads(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found in %s (err %v)", examplesDir, err)
	}
	for _, f := range files {
		parseExample(t, filepath.Base(f))
	}
}

func TestMinimalExample(t *testing.T) {
	t.Parallel()
	cfg := parseExample(t, "minimal.yaml")
	eth := cfg.Chains["eth"]
	if eth == nil || len(cfg.Chains) != 1 {
		t.Fatalf("want exactly chain eth, got %v", cfg.Chains)
	}
	logs := eth.Groups["logs"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"file", cfg.File, filepath.Join(examplesDir, "minimal.yaml")},
		{"listen", cfg.Listen, "127.0.0.1:18545"},
		{"admin.listen", cfg.Admin.Listen, "127.0.0.1:18546"},
		{"token from env", cfg.Admin.Token, "test-token"},
		{"chain_id", eth.ChainID, uint64(1337)},
		{"nodes", len(eth.Nodes), 3},
		{"node c url", eth.Nodes["c"].URL, "http://127.0.0.1:19103"},
		{"default group nodes", eth.Groups["default"].Nodes, []string{"a", "b"}},
		{"logs methods", logs.Methods, []string{"eth_getLogs"}},
		{"logs nodes", logs.Nodes, []string{"c"}},
		{"logs fallback", logs.Fallback, "default"},
		{"max_lag default", eth.Lag(), uint64(3)},
		{"workers default", eth.Nodes["a"].Workers, 32},
		{"timeout default", eth.Timeout.D(), 10 * time.Second},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestMinimalExampleNeedsToken(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(examplesDir, "minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ps := parseProblems(t, data, envOf())
	checkProblems(t, ps, wantProblem{line: 4, msg: []string{"${RPCGATE_ADMIN_TOKEN} is not set"}})
}

func TestFullExample(t *testing.T) {
	t.Parallel()
	cfg := parseExample(t, "full.yaml")
	eth := cfg.Chains["eth"]
	a := eth.Nodes["a"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"hosts", eth.Hosts, []string{"eth.rpc.example"}},
		{"method timeout", eth.MethodTimeouts["eth_getLogs"].D(), 30 * time.Second},
		{"deny", eth.Methods.Deny, []string{"admin_*", "debug_*"}},
		{"header from env", a.Headers["Authorization"], "Bearer node-a-token"},
		{"ws", a.WS, "ws://10.0.0.1:8546"},
		{"b weight", eth.Nodes["b"].Weight, 2},
		{"b queue follows workers", eth.Nodes["b"].Queue, 128},
		{"logs fallback", eth.Groups["logs"].Fallback, "default"},
		{"plan chains", cfg.Plans["pro"].Chains, []string{"eth"}},
		{"pro monthly quota", cfg.Plans["pro"].Quota.Monthly, int64(50000000)},
		{"alice secret from env", cfg.Keys[0].Key, "alice-secret"},
		{"alice metrics", cfg.Keys[0].Metrics, true},
		{"bob hash", cfg.Keys[1].Hash, "sha256:9f03ef1533a68d2f506f81ef463c1183a82a6bd40e45613f36e6fe1889cf1b99"},
		{"own cost", cfg.Tenancy.Costs["eth_sendRawTransaction"], 5},
		{"default cost merged", cfg.Tenancy.Costs["trace_block"], 50},
		{"bare proxy IP normalised", cfg.Tenancy.TrustedProxies, []string{"10.0.0.0/8", "192.168.1.10/32"}},
		{"shared_limits", *cfg.Tenancy.SharedLimits, false},
		{"scheduling queue", eth.Scheduling.Queue, QueueLimits{FastTrack: 256, High: 512, Low: 1024}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestKeysExample(t *testing.T) {
	t.Parallel()
	cfg := parseExample(t, "keys.yaml")
	anon, pro, eth := cfg.Plans["anonymous"], cfg.Plans["pro"], cfg.Chains["eth"]
	if anon == nil || pro == nil || eth == nil || len(cfg.Plans) != 2 || len(cfg.Keys) != 1 {
		t.Fatalf("want plans anonymous and pro, one key and chain eth; got plans %v keys %v", cfg.Plans, cfg.Keys)
	}
	alice := cfg.Keys[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"anonymous priority", anon.Priority, "low"},
		{"anonymous rate", *anon.Rate, Rate{PerSecond: 5, Burst: 10}},
		{"anonymous priority_header", anon.PriorityHeader, false},
		{"pro priority", pro.Priority, "high"},
		{"pro rate", *pro.Rate, Rate{PerSecond: 200, Burst: 400}},
		{"pro priority_header", pro.PriorityHeader, true},
		{"alice name", alice.Name, "alice"},
		{"alice plan", alice.Plan, "pro"},
		{"alice secret from env", alice.Key, "alice-secret"},
		{"alice hash", alice.Hash, ""},
		{"eth keys", eth.Keys, "optional"},
		{"token from env", cfg.Admin.Token, "test-token"},
		{"eth_getLogs cost", cfg.Tenancy.Costs["eth_getLogs"], 20},
		{"costs are the defaults", cfg.Tenancy.Costs, DefaultCosts},
		{"default_cost", cfg.Tenancy.DefaultCost, 1},
		{"on_redis_error", cfg.Tenancy.OnRedisError, "open"},
		{"shared_limits without redis", *cfg.Tenancy.SharedLimits, false},
		{"scheduling", eth.Scheduling, Scheduling{FastTrackPerHigh: 2, LowShare: 0.1, LowAfter: Duration(time.Second),
			Queue: QueueLimits{FastTrack: 256, High: 512, Low: 1024}}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestKeysExampleNeedsAliceKey(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(examplesDir, "keys.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ps := parseProblems(t, data, envOf("RPCGATE_ADMIN_TOKEN", "t"))
	checkProblems(t, ps, wantProblem{line: 7, msg: []string{"${ALICE_KEY} is not set"}, hint: []string{"export ALICE_KEY"}})
}

// full.yaml is the config reference: it must set every key of the schema,
// each with a comment.
func TestFullExampleCoversEveryKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(examplesDir, "full.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := newSource(path)
	root, ps := parseYAML(path, data)
	if ps != nil {
		t.Fatal(ps)
	}
	d := &decoder{src: src, env: examplesEnv}
	d.decode(nil, root, reflect.ValueOf(&Config{}).Elem(), "", 0)
	written := map[string]bool{}
	for p := range src.pos {
		written[schemaPath(p)] = true
	}
	for _, key := range schemaKeys(reflect.TypeFor[Config](), "") {
		if !written[key] {
			t.Errorf("full.yaml does not set %s", key)
		}
	}
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed != "" && !strings.Contains(line, "#") {
			t.Errorf("full.yaml:%d has no comment: %s", i+1, line)
		}
	}
}

// schemaKeys lists every key path of t, with user-chosen map keys as "*".
func schemaKeys(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeFor[Duration]() {
			return nil
		}
		for name, idx := range yamlFields(t) {
			p := joinPath(prefix, name)
			out = append(out, p)
			out = append(out, schemaKeys(t.FieldByIndex(idx).Type, p)...)
		}
	case reflect.Map:
		out = append(out, schemaKeys(t.Elem(), prefix+".*")...)
	case reflect.Slice:
		out = append(out, schemaKeys(t.Elem(), prefix)...) // keys[0].name → keys.name
	}
	return out
}

// schemaPath replaces the chain, plan, node, group, header and method names
// in a decoded path with "*" and drops list indexes.
func schemaPath(p string) string {
	parts := strings.Split(p, ".")
	for i := range parts {
		if i > 0 && (parts[i-1] == "chains" || parts[i-1] == "plans" || parts[i-1] == "nodes" || parts[i-1] == "groups" ||
			parts[i-1] == "headers" || parts[i-1] == "method_timeouts" || parts[i-1] == "per_method" || parts[i-1] == "ignore_fields") {
			parts[i] = "*"
		}
		if j := strings.Index(parts[i], "["); j >= 0 {
			parts[i] = parts[i][:j]
		}
	}
	return strings.Join(parts, ".")
}

// TestCacheExample pins the canonical cache example of issue 13: the
// minimal config with finality_depth, cache.max_bytes and max_logs_range.
func TestCacheExample(t *testing.T) {
	t.Parallel()
	cfg := parseExample(t, "cache.yaml")
	eth := cfg.Chains["eth"]
	if eth == nil || eth.Cache == nil {
		t.Fatalf("cache.yaml: chain eth has no cache: %+v", eth)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"finality_depth", *eth.FinalityDepth, uint64(8)},
		{"cache.max_bytes", eth.Cache.MaxBytes, int64(67108864)},
		{"cache.unfinalized_ttl default", eth.Cache.UnfinalizedTTL.D(), DefaultUnfinalizedTTL},
		{"cache.finality_poll default", eth.Cache.FinalityPoll.D(), DefaultFinalityPoll},
		{"logs.max_logs_range", eth.Groups["logs"].MaxLogsRange, uint64(100)},
		{"default.max_logs_range", eth.Groups["default"].MaxLogsRange, uint64(0)},
		{"nodes", len(eth.Nodes), 3},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	min := parseExample(t, "minimal.yaml")
	if min.Chains["eth"].Cache != nil {
		t.Error("minimal.yaml turns the cache on; it must stay off by default")
	}
}
