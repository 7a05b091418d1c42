package config

import (
	"fmt"
	"maps"
	"math"
	"net"
	"reflect"
	"strings"
	"time"

	"github.com/rpcgate/rpcgate/internal/nodespec"
)

// Defaults. This file is the one place they live; the doc comments in
// types.go state the same values for readers.
const (
	DefaultListen           = "127.0.0.1:8545"
	DefaultRegistryPrefix   = "rpcgate:"
	DefaultMaxBodyBytes     = 10 << 20 // 10 MiB
	DefaultMaxBatch         = 1000
	DefaultMaxResponseBytes = 128 << 20 // 128 MiB
	// Public listener admission (issue 8, defect 1).
	DefaultMaxInflightBodyBytes      = 256 << 20 // 256 MiB
	DefaultMaxInflightBodyBytesPerIP = 64 << 20  // 64 MiB
	DefaultMaxConnsPerIP             = 1024
	DefaultBodyReadTimeout           = 10 * time.Second
	DefaultShutdownTimeout           = 15 * time.Second
	DefaultMaxLag                    = 3
	DefaultPollInterval              = time.Second
	DefaultTimeout                   = 10 * time.Second
	DefaultMaxAttempts               = 3
	DefaultAttemptMin                = 500 * time.Millisecond
	DefaultAttemptMax                = time.Second
	DefaultFailThreshold             = 3
	DefaultBackoffMin                = time.Second
	DefaultBackoffMax                = 30 * time.Second
	DefaultProbeTimeout              = 2 * time.Second
	// Node defaults are nodespec's; these names stay for callers.
	DefaultWeight          = nodespec.DefaultWeight
	DefaultWorkers         = nodespec.DefaultWorkers
	DefaultQueuePerWorker  = nodespec.DefaultQueuePerWorker // Queue defaults to this × Workers
	DefaultMaxRequestBytes = nodespec.DefaultMaxRequestBytes

	// Plans, keys and tenancy (issue 4).
	DefaultPlanPriority     = PriorityLow
	DefaultMethodCost       = 1 // Tenancy.DefaultCost
	DefaultOnRedisError     = OnRedisErrorOpen
	DefaultChainKeys        = KeysOptional
	DefaultFastTrackPerHigh = 2
	DefaultLowShare         = 0.1
	DefaultLowAfter         = time.Second
	DefaultQueueFastTrack   = 256
	DefaultQueueHigh        = 512
	DefaultQueueLow         = 1024

	// Orchestrator and sessions (issue 12).
	DefaultLease              = 10 * time.Second
	DefaultCheckInterval      = 5 * time.Second
	DefaultProbationChecks    = 3
	DefaultOrchestratorWeight = 10
	DefaultSessionEpoch       = 10 * time.Minute
	// Cache (issue 13).
	DefaultFinalityDepth  = 64
	DefaultCacheMaxBytes  = 64 << 20
	DefaultUnfinalizedTTL = 2 * time.Second
	DefaultFinalityPoll   = 2 * time.Second
	DefaultStoreTimeout   = 500 * time.Millisecond
	DefaultCacheRedisPfx  = "rpcgate:cache:"
)

// WebSocket defaults.
const (
	DefaultWSMaxConnections       = 10000
	DefaultWSMaxConnectionsPerIP  = 100
	DefaultWSMaxConnectionsPerKey = 1000
	DefaultWSMaxSubscriptions     = 100
	DefaultWSMaxSubsPerKey        = 1000
	DefaultWSMaxFilters           = 1000
	DefaultWSMaxMessageBytes      = 1 << 20
	DefaultWSSendBufferBytes      = 4 << 20
	DefaultWSPingInterval         = 30 * time.Second
	DefaultWSIdleTimeout          = 5 * time.Minute
)

func (w *WebSocket) applyDefaults() {
	setDefault(&w.MaxConnections, DefaultWSMaxConnections)
	setDefault(&w.MaxConnectionsPerIP, DefaultWSMaxConnectionsPerIP)
	setDefault(&w.MaxConnectionsPerKey, DefaultWSMaxConnectionsPerKey)
	setDefault(&w.MaxSubscriptions, DefaultWSMaxSubscriptions)
	setDefault(&w.MaxSubscriptionsPerKey, DefaultWSMaxSubsPerKey)
	setDefault(&w.MaxFilters, DefaultWSMaxFilters)
	setDefault(&w.MaxMessageBytes, DefaultWSMaxMessageBytes)
	setDefault(&w.SendBufferBytes, DefaultWSSendBufferBytes)
	setDefault(&w.PingInterval, Duration(DefaultWSPingInterval))
	setDefault(&w.IdleTimeout, Duration(DefaultWSIdleTimeout))
}

// Values of Plan.Priority, Chain.Keys and Tenancy.OnRedisError.
const (
	PriorityFastTrack = "fast-track"
	PriorityHigh      = "high"
	PriorityLow       = "low"

	KeysOptional = "optional"
	KeysRequired = "required"

	OnRedisErrorOpen   = "open"
	OnRedisErrorClosed = "closed"
)

// DefaultCosts are the compute units of methods that cost a node more than
// an ordinary call. ApplyDefaults merges them under Tenancy.Costs: a method
// the file prices keeps its own cost. Do not modify.
var DefaultCosts = map[string]int{
	"eth_getLogs":              20,
	"eth_call":                 2,
	"eth_estimateGas":          2,
	"debug_traceTransaction":   20,
	"debug_traceCall":          20,
	"debug_traceBlockByNumber": 50,
	"trace_block":              50,
	"trace_transaction":        20,
	"eth_getBlockReceipts":     10,
}

// ApplyDefaults fills every unset (zero) field with its default. It is
// idempotent and safe on a Config built in code; Load and Parse call it.
// A zero that is meaningful (max_lag: 0) needs a pointer field to survive.
func (c *Config) ApplyDefaults() {
	setDefault(&c.Listen, DefaultListen)
	setDefault(&c.Registry.Prefix, DefaultRegistryPrefix)
	setDefault(&c.Limits.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&c.Limits.MaxBatch, DefaultMaxBatch)
	setDefault(&c.Limits.MaxInflightBodyBytes, DefaultMaxInflightBodyBytes)
	setDefault(&c.Limits.MaxInflightBodyBytesPerIP, DefaultMaxInflightBodyBytesPerIP)
	setDefault(&c.Limits.MaxConnsPerIP, DefaultMaxConnsPerIP)
	setDefault(&c.Limits.BodyReadTimeout, Duration(DefaultBodyReadTimeout))
	setDefault(&c.Limits.MaxResponseBytes, DefaultMaxResponseBytes)
	setDefault(&c.ShutdownTimeout, Duration(DefaultShutdownTimeout))
	c.WebSocket.applyDefaults()
	for _, p := range c.Plans {
		if p != nil {
			p.applyDefaults()
		}
	}
	c.Tenancy.applyDefaults(c.Registry.Redis != "")
	c.Summaries.applyDefaults()
	for _, ch := range c.Chains {
		if ch != nil {
			ch.applyDefaults()
		}
	}
	if o := c.Orchestrator; o != nil {
		setDefault(&o.Lease, Duration(DefaultLease))
		setDefault(&o.CheckInterval, Duration(DefaultCheckInterval))
		setDefault(&o.ProbationChecks, DefaultProbationChecks)
		setDefault(&o.Weight, DefaultOrchestratorWeight)
	}
	setDefault(&c.Sessions.Epoch, Duration(DefaultSessionEpoch))
}

func (p *Plan) applyDefaults() {
	setDefault(&p.Priority, DefaultPlanPriority)
	if p.Rate != nil {
		setDefault(&p.Rate.Burst, DefaultBurst(p.Rate.PerSecond))
	}
}

// DefaultBurst is Rate.Burst's default for a rate of perSecond: perSecond
// rounded up, at least 1.
func DefaultBurst(perSecond float64) int {
	b := math.Ceil(perSecond)
	switch {
	case !(b >= 1): // also NaN
		return 1
	case b >= float64(math.MaxInt):
		return math.MaxInt
	}
	return int(b)
}

func (t *Tenancy) applyDefaults(redis bool) {
	if t.Costs == nil {
		t.Costs = make(map[string]int, len(DefaultCosts))
	}
	for m, cost := range DefaultCosts {
		if _, set := t.Costs[m]; !set {
			t.Costs[m] = cost
		}
	}
	setDefault(&t.DefaultCost, DefaultMethodCost)
	setDefault(&t.OnRedisError, DefaultOnRedisError)
	if t.SharedLimits == nil {
		shared := redis
		t.SharedLimits = &shared
	}
	// A bare address is a one-address network: 10.0.0.1 → 10.0.0.1/32.
	for i, p := range t.TrustedProxies {
		t.TrustedProxies[i] = normalizeProxy(p)
	}
}

// normalizeProxy writes a bare IP address as a /32 (IPv4) or /128 (IPv6)
// CIDR; anything else is returned unchanged for validation to judge.
func normalizeProxy(s string) string {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		return s
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return s
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String() + "/32"
	}
	return ip.String() + "/128"
}

func (ch *Chain) applyDefaults() {
	setDefault(&ch.Keys, DefaultChainKeys)
	s := &ch.Scheduling
	setDefault(&s.FastTrackPerHigh, DefaultFastTrackPerHigh)
	setDefault(&s.LowShare, DefaultLowShare)
	setDefault(&s.LowAfter, Duration(DefaultLowAfter))
	setDefault(&s.Queue.FastTrack, DefaultQueueFastTrack)
	setDefault(&s.Queue.High, DefaultQueueHigh)
	setDefault(&s.Queue.Low, DefaultQueueLow)
	if ch.MaxLag == nil {
		lag := uint64(DefaultMaxLag)
		ch.MaxLag = &lag
	}
	setDefault(&ch.PollInterval, Duration(DefaultPollInterval))
	if ch.FinalityDepth == nil {
		d := uint64(DefaultFinalityDepth)
		ch.FinalityDepth = &d
	}
	if c := ch.Cache; c != nil {
		setDefault(&c.MaxBytes, DefaultCacheMaxBytes)
		if c.UnfinalizedTTL == nil {
			d := Duration(DefaultUnfinalizedTTL)
			c.UnfinalizedTTL = &d
		}
		setDefault(&c.FinalityPoll, Duration(DefaultFinalityPoll))
		setDefault(&c.RedisPrefix, DefaultCacheRedisPfx)
	}
	if st := ch.Store; st != nil {
		setDefault(&st.Role, StoreBoth)
		setDefault(&st.Timeout, Duration(DefaultStoreTimeout))
	}
	setDefault(&ch.Timeout, Duration(DefaultTimeout))
	setDefault(&ch.MaxAttempts, DefaultMaxAttempts)
	setDefault(&ch.AttemptTimeout.Min, Duration(DefaultAttemptMin))
	setDefault(&ch.AttemptTimeout.Max, Duration(DefaultAttemptMax))
	setDefault(&ch.Health.FailThreshold, DefaultFailThreshold)
	setDefault(&ch.Health.BackoffMin, Duration(DefaultBackoffMin))
	setDefault(&ch.Health.BackoffMax, Duration(DefaultBackoffMax))
	setDefault(&ch.Health.ProbeTimeout, Duration(DefaultProbeTimeout))
	for _, n := range ch.Nodes {
		if n != nil {
			n.applyDefaults()
		}
	}
	ch.applyRelayerDefaults()
}

// applyDefaults takes the node defaults from nodespec, the one place they
// are decided.
func (n *Node) applyDefaults() {
	s := n.Spec("")
	s.ApplyDefaults()
	n.Weight, n.Workers, n.Queue, n.MaxRequestBytes = s.Weight, s.Workers, s.Queue, s.MaxRequestBytes
}

// Spec is the node called name as a nodespec.Spec (sharing no map with n).
func (n *Node) Spec(name string) nodespec.Spec {
	return nodespec.Spec{Name: name, URL: n.URL, WS: n.WS, Headers: maps.Clone(n.Headers),
		Weight: n.Weight, Workers: n.Workers, Queue: n.Queue, MaxRequestBytes: n.MaxRequestBytes}
}

// Lag is the chain's MaxLag, or its default when unset.
func (ch *Chain) Lag() uint64 {
	if ch.MaxLag == nil {
		return DefaultMaxLag
	}
	return *ch.MaxLag
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// applyDefaultsChecked applies defaults and reports every value the file set
// explicitly to zero that a default then replaced: `weight: 0` or
// `timeout: 0s` would otherwise silently become 1 or 10s. It compares the
// config before and after ApplyDefaults, so it needs no list of fields.
func applyDefaultsChecked(c *Config, src *source) Problems {
	explicitZero := map[string]bool{}
	walkLeaves(reflect.ValueOf(c).Elem(), "", func(path string, v reflect.Value) {
		if v.IsZero() && src.has(path) {
			explicitZero[path] = true
		}
	})
	c.ApplyDefaults()
	var ps Problems
	walkLeaves(reflect.ValueOf(c).Elem(), "", func(path string, v reflect.Value) {
		if !explicitZero[path] || v.IsZero() || src.suppressed(path) {
			return
		}
		line, col := src.at(path)
		key := lastKey(path)
		zero := leafString(reflect.Zero(v.Type()))
		ps = append(ps, Problem{
			File: src.file, Line: line, Column: col, Path: path,
			Msg:  fmt.Sprintf("%s: %s would be replaced by the default %s", key, zero, leafString(v)),
			Hint: fmt.Sprintf("set %s to a non-zero value, or remove the line to use the default", key),
		})
	})
	return ps
}

// walkLeaves calls fn for every scalar field of v (strings, numbers,
// durations, pointers to scalars) with its path, as the decoder names paths.
func walkLeaves(v reflect.Value, path string, fn func(string, reflect.Value)) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.Type().Elem().Kind() == reflect.Struct {
			if !v.IsNil() {
				walkLeaves(v.Elem(), path, fn)
			}
			return
		}
		fn(path, v)
	case reflect.Struct:
		t := v.Type()
		for name, idx := range yamlFields(t) {
			walkLeaves(v.FieldByIndex(idx), joinPath(path, name), fn)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			walkLeaves(iter.Value(), joinPath(path, iter.Key().String()), fn)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkLeaves(v.Index(i), indexPath(path, i), fn)
		}
	default:
		fn(path, v)
	}
}

// leafString formats a leaf value for messages: durations as "1s", strings
// quoted.
func leafString(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "unset"
		}
		v = v.Elem()
	}
	switch x := v.Interface().(type) {
	case Duration:
		return x.String()
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprint(v.Interface())
}
