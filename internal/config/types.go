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

	// Snapshots serves a snapshot store directory (written by `rpcgate
	// snapshot create`) at /snapshots/. Default: off.
	Snapshots Snapshots `yaml:"snapshots"`

	// Chains maps a chain name (used in the path, /eth) to its fleet.
	// At least one chain is required.
	Chains map[string]*Chain `yaml:"chains"`

	// Orchestrator, when set, lets nodes join by themselves: `rpcgate
	// agent` beside a node, or the node's own ethstats reporter, connects
	// to its listener, the node is verified and then broadcast through the
	// registry to every replica. Default: absent (off). See
	// docs/orchestrator.md.
	Orchestrator *Orchestrator `yaml:"orchestrator"`

	// Sessions give each client a stable subset of a group's nodes and
	// read-your-writes for pending state. Default: off.
	Sessions Sessions `yaml:"sessions"`
	// Summaries streams a compact record of every relay (or a sample) to
	// NATS JetStream, Kafka or a file. Default: off (no sinks).
	Summaries Summaries `yaml:"summaries"`

	// File is the path the config was loaded from (not a YAML key).
	File string `yaml:"-"`
}

// Snapshots configures serving chain-data snapshots (docs/snapshots.md).
type Snapshots struct {
	// Dir is the snapshot store directory to serve at /snapshots/, with
	// range requests. Empty: not served. Default: empty.
	Dir string `yaml:"dir"`
	// Public serves it on the public listener to anyone; false (the
	// default) serves it on the admin listener behind admin.token, which
	// then must be enabled.
	Public bool `yaml:"public"`
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
	// AllowedHosts are Host header names (optionally host:port) the admin
	// API answers to besides IP literals and localhost, e.g. the name of a
	// proxy in front of it. Any other name gets 403, against DNS
	// rebinding. Default: none.
	AllowedHosts []string `yaml:"allowed_hosts"`
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
	// MaxInflightBodyBytes bounds the request body bytes held at once across
	// all public connections; a body that would pass it is refused with HTTP
	// 503 and -32008. Bodies are read as they arrive, so this counts bytes
	// received, not announced. Default: 268435456 (256 MiB).
	MaxInflightBodyBytes int64 `yaml:"max_inflight_body_bytes"`
	// MaxInflightBodyBytesPerIP is the same bound per client IP (the TCP
	// peer; peers in tenancy.trusted_proxies are exempt); over it, HTTP 429
	// and -32005. The first 64 KiB of every body are always admitted, so
	// small calls are never refused by these byte limits.
	// Default: 67108864 (64 MiB).
	MaxInflightBodyBytesPerIP int64 `yaml:"max_inflight_body_bytes_per_ip"`
	// MaxConnsPerIP bounds the open public connections of one client IP
	// (trusted proxies exempt); a connection over it gets HTTP 429 with
	// -32005 and is closed. Default: 1024.
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
	// BodyReadTimeout is how long a request's body may take to arrive after
	// its headers; a slower body gets HTTP 408 and the connection is closed.
	// Default: 10s.
	BodyReadTimeout Duration `yaml:"body_read_timeout"`
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
	// AttemptTimeout bounds how long one attempt of a read waits for a
	// node before the read is tried on another node (a frozen node must
	// not stall callers). The timeout is 4 × the node's recent p99
	// latency, kept within [min, max]. The last attempt a call can make
	// waits until Timeout instead, and writes are never abandoned.
	AttemptTimeout AttemptTimeout `yaml:"attempt_timeout"`
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
	// BroadcastWrites sends eth_sendRawTransaction to every healthy node
	// of the method's group at once; the first success is returned and
	// "already known" / "nonce too low" from the others count as success
	// for them. Default: false (a write goes to one node).
	BroadcastWrites bool `yaml:"broadcast_writes"`
	// Consensus is the chain's default comparison policy for groups that
	// set none (see Consensus). Default: off.
	Consensus *Consensus `yaml:"consensus"`
	// Reputation tunes node scores and quarantine (see Reputation).
	Reputation Reputation `yaml:"reputation"`
	// FinalityDepth is how many blocks below the best head count as final
	// when no healthy majority of nodes reports a "finalized" block (chains
	// without the tag). Nodes' own finalized block wins when they report
	// one. Default: 64.
	FinalityDepth *uint64 `yaml:"finality_depth"`
	// Cache turns on the response cache, request coalescing and the
	// finality tracking behind them. Default: absent (off).
	Cache *Cache `yaml:"cache"`
	// Store connects the chain to a PostgreSQL/YugabyteDB chain store
	// (docs/followers.md): a writer copies finalized blocks into it, a
	// reader answers settled reads from it. Default: absent (off).
	Store *Store `yaml:"store"`
}

// Cache configures a chain's response cache (see docs/cache.md).
type Cache struct {
	// MaxBytes bounds the memory tier (keys and values). Default: 64 MiB.
	MaxBytes int64 `yaml:"max_bytes"`
	// UnfinalizedTTL is how long an answer about a block above the finalized
	// block is kept (it is keyed by block hash and evicted at once when a
	// reorg replaces that hash). 0 keeps no such answers. Default: 2s.
	UnfinalizedTTL *Duration `yaml:"unfinalized_ttl"`
	// RealtimeTTL, when > 0, keeps answers that depend on the tip
	// (eth_gasPrice, eth_maxPriorityFeePerGas, eth_blobBaseFee) this long:
	// a fraction of the block time. eth_blockNumber is never kept (it must
	// not go backwards). Default: 0 (off).
	RealtimeTTL Duration `yaml:"realtime_ttl"`
	// FinalityPoll is how often each node's "safe" and "finalized" blocks
	// (and its head block's hash, for reorg detection) are read.
	// Default: 2s.
	FinalityPoll Duration `yaml:"finality_poll"`
	// Methods overrides the policy per method (exact name): "off" (never
	// cached), "finalized" (only answers about finalized blocks) or
	// "unfinalized" (finalized answers, and by-hash answers above
	// finality). Default: "unfinalized" for every cacheable method.
	Methods map[string]string `yaml:"methods"`
	// Redis, when set, is a shared second tier (redis://host:port/db):
	// finalized answers are written there too, so every replica serves
	// them. Default: none.
	Redis string `yaml:"redis"`
	// RedisPrefix prefixes every Redis key. Default: "rpcgate:cache:".
	RedisPrefix string `yaml:"redis_prefix"`
}

// Values of Cache.Methods.
const (
	CachePolicyOff         = "off"
	CachePolicyFinalized   = "finalized"
	CachePolicyUnfinalized = "unfinalized"
)

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

// AttemptTimeout bounds the per-attempt timeout derived from each node's
// latency.
type AttemptTimeout struct {
	// Min is the floor. Default: 500ms.
	Min Duration `yaml:"min"`
	// Max is the ceiling. Default: 1s, so that a read meeting a frozen
	// node still ends within about two seconds. Must be >= Min.
	Max Duration `yaml:"max"`
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
	// Hedge sends a read to a second node when the first has not answered
	// after a delay (see Hedge). Default: on, with the adaptive delay.
	// Writes are never hedged.
	Hedge *Hedge `yaml:"hedge"`
	// Consensus compares several nodes' answers for the group's reads
	// (see Consensus). Default: the chain's consensus, else off.
	Consensus *Consensus `yaml:"consensus"`
	// MaxLogsRange splits an eth_getLogs call whose numeric block range is
	// wider than this many blocks into chunks run concurrently on the
	// group's nodes (only with the chain's cache on). 0: never split.
	// Default: 0.
	MaxLogsRange uint64 `yaml:"max_logs_range"`
	// Store marks a group served by the chain's store alone: with
	// nodes: [] it needs no node (a getLogs group). Requires the chain's
	// store with role reader or both. Default: false.
	Store bool `yaml:"store"`
}

// Store configures a chain's store (see docs/followers.md).
type Store struct {
	// Postgres is the connection URL (postgres://user@host:5432/db).
	// Required. Never logged.
	Postgres string `yaml:"postgres"`
	// Role is "reader" (serve settled reads from the store), "writer"
	// (follow finalized blocks into it) or "both". Default: "both".
	Role string `yaml:"role"`
	// Schema is the search_path used on the store's connections.
	// Default: "" (the server's default, usually public).
	Schema string `yaml:"schema"`
	// Timeout bounds one store lookup; a slower store is skipped and the
	// call goes to nodes. Default: 500ms.
	Timeout Duration `yaml:"timeout"`
}

// Values of Store.Role.
const (
	StoreReader = "reader"
	StoreWriter = "writer"
	StoreBoth   = "both"
)

// Reads reports whether the role serves reads.
func (s *Store) Reads() bool { return s != nil && s.Role != StoreWriter }

// Writes reports whether the role ingests.
func (s *Store) Writes() bool { return s != nil && (s.Role == StoreWriter || s.Role == StoreBoth) }

// Duration is a time.Duration written as "1.5s", "200ms" or "2m" in YAML.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Orchestrator configures the join listener (agents at /join, ethstats
// reporters at /api) and how joining nodes are judged.
type Orchestrator struct {
	// Listen is the orchestrator's own address. Required.
	Listen string `yaml:"listen"`
	// TLSCert and TLSKey (PEM files) serve the listener over TLS (wss://).
	// Both or neither. Default: plain (ws://).
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// JoinSecret is the shared secret agents and ethstats reporters of
	// every chain may join with (a chain's own join_secret replaces it for
	// that chain). Per-node tokens come from the admin API. Default: empty
	// (only per-node tokens and per-chain secrets).
	JoinSecret string `yaml:"join_secret"`
	// Lease is how long a joined node stays after its agent (or ethstats
	// connection) is gone; then it is drained and removed. Default: 10s.
	Lease Duration `yaml:"lease"`
	// CheckInterval is how often a joined node is verified again (the
	// same checks as at join). Default: 5s.
	CheckInterval Duration `yaml:"check_interval"`
	// ProbationChecks is how many checks after the join a node must pass
	// before it leaves probation (weight 1) for Weight. Default: 3.
	ProbationChecks int `yaml:"probation_checks"`
	// Weight is a joined node's weight after probation, 1 to 1000.
	// Default: 10 (config nodes default to 1: set theirs to match).
	Weight int `yaml:"weight"`
	// Chains holds per-chain join settings. Default: none.
	Chains map[string]*OrchestratorChain `yaml:"chains"`
}

// OrchestratorChain is one chain's join settings.
type OrchestratorChain struct {
	// JoinSecret replaces orchestrator.join_secret for this chain.
	JoinSecret string `yaml:"join_secret"`
	// Genesis is the chain's block 0 hash (0x + 64 hex). Default: learned
	// from the chain's serving nodes.
	Genesis string `yaml:"genesis"`
	// URLTemplate lets a node reporting only over ethstats join: {name} is
	// replaced by the name it reports (e.g. "http://{name}:8545"). The
	// node is verified like any other. Default: empty (ethstats reports
	// only add health to nodes known by name).
	URLTemplate string `yaml:"url_template"`
}

// Sessions configures client sessions (internal/session).
type Sessions struct {
	// Size is how many of a group's nodes one client is pinned to per
	// epoch (rendezvous hashing on its API key, its IP when anonymous, or
	// its X-Session-Id header). Default: 0 (off: every node).
	Size int `yaml:"size"`
	// Epoch is how long a client keeps its subset. Default: 10m.
	Epoch Duration `yaml:"epoch"`
	// ReadYourWrites is how long after a successful write a client's reads
	// of pending state go to the node that took the write. Default: 0 (off).
	ReadYourWrites Duration `yaml:"read_your_writes"`
}
