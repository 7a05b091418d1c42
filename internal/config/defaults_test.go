package config

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func TestApplyDefaults(t *testing.T) {
	t.Parallel()
	c := &Config{Chains: map[string]*Chain{"eth": {
		ChainID: 1,
		Nodes: map[string]*Node{
			"a": {URL: "http://a"},
			"b": {URL: "http://b", Workers: 4, Weight: 2, Queue: 1},
		},
	}}}
	c.ApplyDefaults()
	ch := c.Chains["eth"]
	a, b := ch.Nodes["a"], ch.Nodes["b"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", c.Listen, "127.0.0.1:8545"},
		{"admin.listen stays off", c.Admin.Listen, ""},
		{"max_body_bytes", c.Limits.MaxBodyBytes, int64(10485760)},
		{"max_batch", c.Limits.MaxBatch, 1000},
		{"max_response_bytes", c.Limits.MaxResponseBytes, int64(134217728)},
		{"shutdown_timeout", c.ShutdownTimeout.D(), 15 * time.Second},
		{"max_lag", *ch.MaxLag, uint64(3)},
		{"Lag()", ch.Lag(), uint64(3)},
		{"poll_interval", ch.PollInterval.D(), time.Second},
		{"timeout", ch.Timeout.D(), 10 * time.Second},
		{"max_attempts", ch.MaxAttempts, 3},
		{"fail_threshold", ch.Health.FailThreshold, 3},
		{"backoff_min", ch.Health.BackoffMin.D(), time.Second},
		{"backoff_max", ch.Health.BackoffMax.D(), 30 * time.Second},
		{"probe_timeout", ch.Health.ProbeTimeout.D(), 2 * time.Second},
		{"a.weight", a.Weight, 1},
		{"a.workers", a.Workers, 32},
		{"a.queue is 8 × workers", a.Queue, 256},
		{"b.weight kept", b.Weight, 2},
		{"b.workers kept", b.Workers, 4},
		{"b.queue kept", b.Queue, 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}

	q, lag := a.Queue, ch.MaxLag
	c.ApplyDefaults()
	if a.Queue != q || ch.MaxLag != lag {
		t.Errorf("ApplyDefaults is not idempotent: queue %d then %d", q, a.Queue)
	}
}

func TestQueueDefaultFollowsWorkers(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("test.yaml", replaceLine(5, `      a: {url: "http://10.0.0.1:8545", workers: 5}`), envOf())
	if err != nil {
		t.Fatal(err)
	}
	if q := cfg.Chains["eth"].Nodes["a"].Queue; q != 40 {
		t.Errorf("queue = %d, want 8 × 5 = 40", q)
	}
}

func TestMaxLagZeroIsKept(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("test.yaml", withChain(`    max_lag: 0`), envOf())
	if err != nil {
		t.Fatal(err)
	}
	ch := cfg.Chains["eth"]
	if ch.MaxLag == nil || *ch.MaxLag != 0 || ch.Lag() != 0 {
		t.Errorf("max_lag: 0 became %v (Lag %d), want 0", ch.MaxLag, ch.Lag())
	}
	if (&Chain{}).Lag() != 3 {
		t.Errorf("Lag of an unset MaxLag = %d, want 3", (&Chain{}).Lag())
	}
}

// An explicit zero that a default would silently replace is a problem.
func TestExplicitZeroIsAProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data []byte
		want wantProblem
	}{
		{"weight", replaceLine(5, `      a: {url: "http://10.0.0.1:8545", weight: 0}`),
			wantProblem{line: 5, msg: []string{"weight", "default 1"}}},
		{"workers", replaceLine(5, `      a: {url: "http://10.0.0.1:8545", workers: 0}`),
			wantProblem{line: 5, msg: []string{"workers", "default 32"}}},
		{"max_attempts", withChain(`    max_attempts: 0`),
			wantProblem{line: 9, msg: []string{"max_attempts", "default 3"}}},
		{"timeout", withChain(`    timeout: 0s`),
			wantProblem{line: 9, msg: []string{"timeout", "default 10s"}}},
		{"empty listen", withChain(`listen: ""`),
			wantProblem{line: 9, msg: []string{"listen", `default "127.0.0.1:8545"`}}},
		{"max_batch", withChain(`limits: {max_batch: 0}`),
			wantProblem{line: 9, msg: []string{"max_batch", "default 1000"}}},
		{"priority", withChain(`plans: {pro: {priority: ""}}`),
			wantProblem{line: 9, msg: []string{"priority", `default "low"`}}},
		{"burst", withChain(`plans: {pro: {rate: {per_second: 2.5, burst: 0}}}`),
			wantProblem{line: 9, msg: []string{"burst", "default 3"}}},
		{"default_cost", withChain(`tenancy: {default_cost: 0}`),
			wantProblem{line: 9, msg: []string{"default_cost", "default 1"}}},
		{"on_redis_error", withChain(`tenancy: {on_redis_error: ""}`),
			wantProblem{line: 9, msg: []string{"on_redis_error", `default "open"`}}},
		{"chain keys", withChain(`    keys: ""`),
			wantProblem{line: 9, msg: []string{"keys", `default "optional"`}}},
		{"fast_track_per_high", withChain(`    scheduling: {fast_track_per_high: 0}`),
			wantProblem{line: 9, msg: []string{"fast_track_per_high", "default 2"}}},
		{"low_share", withChain(`    scheduling: {low_share: 0}`),
			wantProblem{line: 9, msg: []string{"low_share", "default 0.1"}}},
		{"low_after", withChain(`    scheduling: {low_after: 0s}`),
			wantProblem{line: 9, msg: []string{"low_after", "default 1s"}}},
		{"scheduling queue", withChain(`    scheduling: {queue: {high: 0}}`),
			wantProblem{line: 9, msg: []string{"high", "default 512"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkProblems(t, parseProblems(t, tt.data, envOf()), tt.want)
		})
	}
}

func TestApplyDefaultsTenancy(t *testing.T) {
	t.Parallel()
	c := &Config{
		Plans: map[string]*Plan{
			"anonymous": {},
			"tiny":      {Rate: &Rate{PerSecond: 0.2}},
			"frac":      {Rate: &Rate{PerSecond: 2.5}},
			"set":       {Priority: "high", Rate: &Rate{PerSecond: 10, Burst: 50}},
		},
		Tenancy: Tenancy{
			Costs:          map[string]int{"eth_getLogs": 5, "eth_sendRawTransaction": 3},
			TrustedProxies: []string{"10.0.0.0/8", "10.1.2.3", "::1", "::ffff:192.168.0.1", "bad"},
		},
		Chains: map[string]*Chain{"eth": {ChainID: 1}},
	}
	c.ApplyDefaults()
	ch := c.Chains["eth"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"priority", c.Plans["anonymous"].Priority, "low"},
		{"no rate stays unlimited", c.Plans["anonymous"].Rate, (*Rate)(nil)},
		{"burst at least 1", c.Plans["tiny"].Rate.Burst, 1},
		{"burst rounds up", c.Plans["frac"].Rate.Burst, 3},
		{"priority kept", c.Plans["set"].Priority, "high"},
		{"burst kept", c.Plans["set"].Rate.Burst, 50},
		{"own cost kept", c.Tenancy.Costs["eth_getLogs"], 5},
		{"own method kept", c.Tenancy.Costs["eth_sendRawTransaction"], 3},
		{"eth_call", c.Tenancy.Costs["eth_call"], 2},
		{"eth_estimateGas", c.Tenancy.Costs["eth_estimateGas"], 2},
		{"debug_traceTransaction", c.Tenancy.Costs["debug_traceTransaction"], 20},
		{"debug_traceCall", c.Tenancy.Costs["debug_traceCall"], 20},
		{"debug_traceBlockByNumber", c.Tenancy.Costs["debug_traceBlockByNumber"], 50},
		{"trace_block", c.Tenancy.Costs["trace_block"], 50},
		{"trace_transaction", c.Tenancy.Costs["trace_transaction"], 20},
		{"eth_getBlockReceipts", c.Tenancy.Costs["eth_getBlockReceipts"], 10},
		{"costs size", len(c.Tenancy.Costs), len(DefaultCosts) + 1},
		{"DefaultCosts untouched", DefaultCosts["eth_getLogs"], 20},
		{"default_cost", c.Tenancy.DefaultCost, 1},
		{"on_redis_error", c.Tenancy.OnRedisError, "open"},
		{"shared_limits without redis", *c.Tenancy.SharedLimits, false},
		{"trusted proxies", c.Tenancy.TrustedProxies, []string{"10.0.0.0/8", "10.1.2.3/32", "::1/128", "192.168.0.1/32", "bad"}},
		{"chain keys", ch.Keys, "optional"},
		{"scheduling", ch.Scheduling, Scheduling{FastTrackPerHigh: 2, LowShare: 0.1, LowAfter: Duration(time.Second),
			Queue: QueueLimits{FastTrack: 256, High: 512, Low: 1024}}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}

	c.ApplyDefaults()
	if !reflect.DeepEqual(c.Tenancy.TrustedProxies[1], "10.1.2.3/32") || c.Plans["frac"].Rate.Burst != 3 {
		t.Error("ApplyDefaults is not idempotent for tenancy and plans")
	}

	withRedis := &Config{Registry: Registry{Redis: "redis://127.0.0.1:6379/0"}}
	withRedis.ApplyDefaults()
	if !*withRedis.Tenancy.SharedLimits {
		t.Error("shared_limits does not default to true when registry.redis is set")
	}
	off := false
	explicit := &Config{Registry: Registry{Redis: "redis://x:1"}, Tenancy: Tenancy{SharedLimits: &off}}
	explicit.ApplyDefaults()
	if *explicit.Tenancy.SharedLimits {
		t.Error("shared_limits: false was overridden")
	}
}

func TestDefaultBurst(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   float64
		want int
	}{{0, 1}, {-5, 1}, {math.NaN(), 1}, {0.01, 1}, {1, 1}, {1.01, 2}, {200, 200}, {math.Inf(1), math.MaxInt}, {1e300, math.MaxInt}} {
		if got := DefaultBurst(tt.in); got != tt.want {
			t.Errorf("DefaultBurst(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// Costs from the file are merged over the defaults, and bare proxy
// addresses load as one-address networks.
func TestTenancyDefaultsFromFile(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("test.yaml", withChain(
		`tenancy:`,
		`  costs: {eth_call: 7, eth_getBalance: 3}`,
		`  trusted_proxies: [10.0.0.1, "2001:db8::1", 172.16.0.0/12]`,
		`plans: {pro: {rate: {per_second: 7.5}}}`), envOf())
	if err != nil {
		t.Fatal(err)
	}
	tn := cfg.Tenancy
	if tn.Costs["eth_call"] != 7 || tn.Costs["eth_getBalance"] != 3 || tn.Costs["eth_getLogs"] != 20 {
		t.Errorf("costs = %v", tn.Costs)
	}
	if want := []string{"10.0.0.1/32", "2001:db8::1/128", "172.16.0.0/12"}; !reflect.DeepEqual(tn.TrustedProxies, want) {
		t.Errorf("trusted_proxies = %v, want %v", tn.TrustedProxies, want)
	}
	if b := cfg.Plans["pro"].Rate.Burst; b != 8 {
		t.Errorf("burst = %d, want 8 (7.5 rounded up)", b)
	}
}
