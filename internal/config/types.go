// Package config holds rpcgate's configuration: the YAML schema users write,
// its defaults (set in one place, defaults.go), ${VAR} expansion and strict
// validation that reports file:line and a hint for every problem.
package config

import "time"

// Config is the whole file. Every field documents its meaning and default.
type Config struct {
	// Listen is the public JSON-RPC listener (HTTP; WebSocket later).
	// Default: 127.0.0.1:8545.
	Listen string `yaml:"listen"`

	// Admin is the private listener for the admin API, /metrics and pprof.
	Admin Admin `yaml:"admin"`

	// Limits bound what one client request may cost the gateway.
	Limits Limits `yaml:"limits"`

	// WebSocket bounds the WebSocket connections served on the public
	// listener's paths (ws://host/<chain>), their subscriptions and the
	// gateway-held filters.
	WebSocket WebSocket `yaml:"websocket"`

	// Registry is where nodes added or removed at run time, and the node
	// up/down history behind the status page, are kept.
	Registry Registry `yaml:"registry"`

	// ShutdownTimeout is how long in-flight requests may take to finish after
	// SIGTERM/SIGINT. Default: 15s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`

	// Plans maps a plan name to what its clients may do. A plan named
	// "anonymous" applies to traffic without a key (keyed by client IP).
	// Default: none; then keyless traffic is low priority and unlimited.
	Plans map[string]*Plan `yaml:"plans"`

	// Keys are API keys defined in the file; more can be added at run time
	// through the admin API when a Redis registry is configured.
	Keys []*Key `yaml:"keys"`

	// Tenancy holds the settings shared by every plan: method costs,
	// trusted proxies, and where rate limits and usage are kept.
	Tenancy Tenancy `yaml:"tenancy"`

	// Chains maps a chain name (used in the path, /eth) to its fleet.
	// At least one chain is required.
	Chains map[string]*Chain `yaml:"chains"`

	// File is the path the config was loaded from (not a YAML key).
	File string `yaml:"-"`
}

// Admin configures the private admin listener.
type Admin struct {
	// Listen is the admin address. Empty disables the admin listener.
	// Default: empty (disabled).
	Listen string `yaml:"listen"`
	// Token is the bearer token every admin request must present.
	// Required when Listen is not a loopback address. Default: empty.
	Token string `yaml:"token"`
	// AllowNodeHosts restricts where nodes added through the admin API may
	// point: CIDRs ("10.0.0.0/8"; a bare address is one host) matched
	// against every address the node's host resolves to, or host globs
	// ("*.nodes.example", path.Match syntax, no port) matched against the
	// host name. Default: empty (any host, except the gateway's own
	// listeners, link-local and cloud metadata addresses). Link-local and
	// metadata addresses are allowed only when a CIDR here contains them
	// (metadata.google.internal only when listed by its exact name).
	// Config file nodes are not restricted.
	AllowNodeHosts []string `yaml:"allow_node_hosts"`
}

// Plan is a class of client: priority, limits and reach.
type Plan struct {
	// Priority is the scheduling class: "fast-track", "high" or "low".
	// Default: low.
	Priority string `yaml:"priority"`
	// Rate limits requests per second, weighted by method cost (compute
	// units). Default: none (unlimited).
	Rate *Rate `yaml:"rate"`
	// Quota caps compute units per UTC day and per calendar month.
	// Default: none.
	Quota Quota `yaml:"quota"`
	// Chains the plan may use. Default: empty (all chains).
	Chains []string `yaml:"chains"`
	// Methods filters methods for this plan on top of the chain's policy.
	Methods MethodPolicy `yaml:"methods"`
	// PriorityHeader lets clients ask for a higher class with
	// X-Fast-Track: true or X-High-Priority: true. Default: false (the
	// headers are ignored).
	PriorityHeader bool `yaml:"priority_header"`
	// NotificationCost is the compute units one subscription notification
	// (eth_subscription message) costs; it is accounted as usage of the
	// method "eth_subscription", not checked against rate limits.
	// Default: 0 (notifications are free).
	NotificationCost int `yaml:"notification_cost"`
}

// Rate is a token bucket: PerSecond compute units refill per second, up to
// Burst.
type Rate struct {
	// PerSecond is the sustained rate. Required (> 0).
	PerSecond float64 `yaml:"per_second"`
	// Burst is the most compute units spent at once. Default: PerSecond
	// rounded up (at least 1).
	Burst int `yaml:"burst"`
}

// Quota caps compute units per period; 0 means no cap.
type Quota struct {
	// Daily resets at 00:00 UTC. Default: 0 (none).
	Daily int64 `yaml:"daily"`
	// Monthly resets on the 1st at 00:00 UTC. Default: 0 (none).
	Monthly int64 `yaml:"monthly"`
}

// Key is an API key defined in the config file.
type Key struct {
	// Name identifies the key in logs, metrics and the admin API (never the
	// secret). Required, unique.
	Name string `yaml:"name"`
	// Key is the secret, usually from the environment ("${ALICE_KEY}").
	// Give Key or Hash, not both.
	Key string `yaml:"key"`
	// Hash is "sha256:<hex>" of the secret, so the file need not hold it.
	Hash string `yaml:"hash"`
	// Plan names the key's plan. Required.
	Plan string `yaml:"plan"`
	// Metrics exports this key's usage with its own Prometheus label
	// (otherwise usage is exported per plan only). Default: false.
	Metrics bool `yaml:"metrics"`
	// Disabled keys are refused (401). Default: false.
	Disabled bool `yaml:"disabled"`
}

// Tenancy holds settings shared by every plan.
type Tenancy struct {
	// Costs are compute units per method (exact names, no globs); a
	// request's weight against its rate limit and quota. The file's entries
	// are merged over DefaultCosts: eth_getLogs 20, eth_call 2,
	// eth_estimateGas 2, eth_getBlockReceipts 10, debug_traceTransaction 20,
	// debug_traceCall 20, debug_traceBlockByNumber 50, trace_transaction 20,
	// trace_block 50. Any other method costs DefaultCost.
	Costs map[string]int `yaml:"costs"`
	// DefaultCost is the cost of a method not in Costs. Default: 1.
	DefaultCost int `yaml:"default_cost"`
	// TrustedProxies are CIDRs whose X-Forwarded-For / CF-Connecting-IP
	// headers are believed for the client's IP. A bare address is read as
	// /32 (IPv4) or /128 (IPv6) and rewritten so. Default: none (the TCP
	// peer is the client).
	TrustedProxies []string `yaml:"trusted_proxies"`
	// SharedLimits enforces rate limits across replicas through the
	// registry's Redis (GCRA in one Lua call); true needs registry.redis.
	// Default: true when registry.redis is set, false otherwise.
	SharedLimits *bool `yaml:"shared_limits"`
	// OnRedisError decides what a shared limit does while Redis is
	// unreachable: "open" admits (and counts it), "closed" refuses with
	// 503. Default: open.
	OnRedisError string `yaml:"on_redis_error"`
}

// Registry configures the durable store of run-time node changes.
type Registry struct {
	// File is the state file used when Redis is not set, written
	// atomically. Default: next to the config file, as <config>.state.json
	// (no persistence when the config did not come from a file).
	File string `yaml:"file"`
	// Redis (redis://[user:password@]host:port[/db], or rediss://) makes
	// Redis the source of truth shared by every replica. Default: empty.
	Redis string `yaml:"redis"`
	// Prefix is put before every Redis key, so several fleets can share one
	// Redis. Default: "rpcgate:".
	Prefix string `yaml:"prefix"`
}

// Limits bound request sizes on the public listener.
type Limits struct {
	// MaxBodyBytes is the largest request body accepted; larger bodies get
	// HTTP 413 with a JSON-RPC error. Default: 10485760 (10 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxBatch is the largest number of items in one batch. Default: 1000.
	MaxBatch int `yaml:"max_batch"`
	// MaxResponseBytes is the largest node response the gateway will relay
	// for one upstream call. Default: 134217728 (128 MiB).
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
}

// WebSocket bounds WebSocket connections, subscriptions and filters.
// Every limit applies at once; a refused upgrade gets HTTP 429 (503 while
// shutting down), a refused subscription a JSON-RPC error.
type WebSocket struct {
	// MaxConnections is the most open connections on this replica.
	// Default: 10000.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerIP is the most connections from one client IP.
	// Default: 100.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// MaxConnectionsPerKey is the most connections of one API key.
	// Default: 1000.
	MaxConnectionsPerKey int `yaml:"max_connections_per_key"`
	// MaxSubscriptions is the most subscriptions on one connection.
	// Default: 100.
	MaxSubscriptions int `yaml:"max_subscriptions"`
	// MaxSubscriptionsPerKey is the most subscriptions of one API key
	// (or of one IP for keyless callers) over all its connections.
	// Default: 1000.
	MaxSubscriptionsPerKey int `yaml:"max_subscriptions_per_key"`
	// MaxFilters is the most gateway-held filters of one API key (or one
	// IP for keyless callers) on this replica. Default: 1000.
	MaxFilters int `yaml:"max_filters"`
	// MaxMessageBytes is the largest message a client may send; a larger
	// one closes the connection with code 1009. Default: 1048576 (1 MiB).
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// SendBufferBytes bounds what may wait to be sent to one client; a
	// client that reads slower than that is closed with code 1008 and a
	// reason (a slow consumer). Default: 4194304 (4 MiB).
	SendBufferBytes int64 `yaml:"send_buffer_bytes"`
	// PingInterval is how often the gateway pings; a client that does not
	// answer (pong) or send anything within two intervals is closed.
	// Default: 30s.
	PingInterval Duration `yaml:"ping_interval"`
	// IdleTimeout closes a connection that has no subscription and sent
	// nothing for this long. Default: 5m.
	IdleTimeout Duration `yaml:"idle_timeout"`
}

// Chain is one blockchain served at /<name> and at any of Hosts.
type Chain struct {
	// ChainID is the EIP-155 chain id every node must report via eth_chainId.
	// Required.
	ChainID uint64 `yaml:"chain_id"`
	// Hosts are extra Host header values (without port) routed to this chain.
	// Default: none.
	Hosts []string `yaml:"hosts"`
	// WSGroup names the node group that serves every call made over a
	// WebSocket connection (subscriptions are the gateway's own and need
	// no group). Default: empty (calls go to their method's group, as
	// over HTTP).
	WSGroup string `yaml:"ws_group"`
	// MaxLag is how many blocks a node may be behind the chain's best head and
	// still be selected. Default: 3.
	MaxLag *uint64 `yaml:"max_lag"`
	// PollInterval is how often each node's head is polled with
	// eth_blockNumber. Default: 1s.
	PollInterval Duration `yaml:"poll_interval"`
	// Timeout is the whole-request deadline, retries included. Default: 10s.
	Timeout Duration `yaml:"timeout"`
	// MethodTimeouts overrides Timeout per method (exact name). Default: none.
	MethodTimeouts map[string]Duration `yaml:"method_timeouts"`
	// MaxAttempts is how many nodes one request may be tried on. Default: 3.
	MaxAttempts int `yaml:"max_attempts"`
	// Writes lists extra methods treated as writes (never sent twice once
	// they may have reached a node), on top of eth_sendRawTransaction and
	// eth_sendTransaction. Default: none.
	Writes []string `yaml:"writes"`
	// Methods allows or denies methods before they reach any node.
	Methods MethodPolicy `yaml:"methods"`
	// Health tunes ejection and re-probing of failing nodes.
	Health Health `yaml:"health"`
	// Nodes maps a node name to its upstream. At least one node is required.
	Nodes map[string]*Node `yaml:"nodes"`
	// Groups maps a group name to the methods it claims and the nodes serving
	// it. A group named "default" is required; it serves unclaimed methods.
	Groups map[string]*Group `yaml:"groups"`
	// Keys is "optional" (traffic without a key falls under the anonymous
	// plan) or "required" (no key: 401). Default: optional.
	Keys string `yaml:"keys"`
	// Scheduling tunes the priority queues in front of each node's worker
	// slots.
	Scheduling Scheduling `yaml:"scheduling"`
}

// Scheduling tunes how waiting requests get a node's free worker slots.
type Scheduling struct {
	// FastTrackPerHigh is how many fast-track requests are dispatched for
	// every high one while both wait. Default: 2.
	FastTrackPerHigh int `yaml:"fast_track_per_high"`
	// LowShare is the share of dispatches guaranteed to low-priority
	// requests once the oldest has waited LowAfter. Default: 0.1.
	LowShare float64 `yaml:"low_share"`
	// LowAfter is how long a low request waits before the LowShare
	// guarantee applies. Default: 1s.
	LowAfter Duration `yaml:"low_after"`
	// Queue bounds the waiting requests per class per node; a full queue
	// sheds the request (503 with Retry-After). Defaults: fast_track 256,
	// high 512, low 1024.
	Queue QueueLimits `yaml:"queue"`
}

// QueueLimits bound waiting requests per priority class.
type QueueLimits struct {
	FastTrack int `yaml:"fast_track"`
	High      int `yaml:"high"`
	Low       int `yaml:"low"`
}

// MethodPolicy filters methods per chain. Entries are exact names or globs
// ("debug_*"). Denied methods get -32601 without touching a node.
type MethodPolicy struct {
	// Allow, when non-empty, is the complete list of permitted methods.
	// Default: empty (everything not denied is allowed).
	Allow []string `yaml:"allow"`
	// Deny lists methods that are refused. Deny wins over Allow.
	// Default: empty.
	Deny []string `yaml:"deny"`
}

// Health configures the circuit breaker around each node.
type Health struct {
	// FailThreshold is how many consecutive failures (probes or live
	// requests) eject a node. Default: 3.
	FailThreshold int `yaml:"fail_threshold"`
	// BackoffMin is the first re-probe delay of an ejected node; it doubles
	// up to BackoffMax. Defaults: 1s and 30s.
	BackoffMin Duration `yaml:"backoff_min"`
	BackoffMax Duration `yaml:"backoff_max"`
	// ProbeTimeout bounds one health probe. Default: 2s.
	ProbeTimeout Duration `yaml:"probe_timeout"`
}

// Node is one upstream full node as the file writes it. Its settings,
// defaults, limits and validation belong to nodespec.Spec (see Spec); the
// admin API and the registry judge nodes by the same rules.
type Node struct {
	// URL is the node's HTTP JSON-RPC endpoint (http or https, any case).
	// Required. Userinfo and query strings (credentials) are never shown
	// publicly.
	URL string `yaml:"url"`
	// WS is the node's WebSocket endpoint (ws or wss). Optional.
	WS string `yaml:"ws"`
	// Weight scales the node's share of traffic, 1 to 1000. Default: 1.
	Weight int `yaml:"weight"`
	// Workers is the most requests in flight to this node, 1 to 4096.
	// Default: 32.
	Workers int `yaml:"workers"`
	// Queue is how many requests may wait for a worker slot; beyond it the
	// gateway tries another node or sheds load. 0 to 32768.
	// Default: 8 × Workers.
	Queue int `yaml:"queue"`
	// MaxRequestBytes is the largest request body sent to this node; a
	// larger call is refused with a JSON-RPC error before any node sees
	// it, and never counts against the node's health. 1 to 1 GiB.
	// Default: 5242880 (5 MiB, what geth accepts).
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
	// Headers are sent with every request to the node (e.g. auth). Names
	// are RFC 7230 tokens. They are never shown publicly. Default: none.
	Headers map[string]string `yaml:"headers"`
}

// Group is a set of nodes serving a set of methods.
type Group struct {
	// Methods this group claims: exact names or globs ("debug_*"). A method
	// may be claimed by one group only. Must be empty for "default", which
	// serves every method no other group claims.
	Methods []string `yaml:"methods"`
	// Nodes serving this group, by name. Required (at least one).
	Nodes []string `yaml:"nodes"`
	// Fallback names the group used when this one has no usable node.
	// Default: none. Fallback chains must not loop.
	Fallback string `yaml:"fallback"`
}

// Duration is a time.Duration written as "1.5s", "200ms" or "2m" in YAML.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
