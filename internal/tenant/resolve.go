package tenant

import (
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/route"
)

// Resolver identifies requests. It is safe for concurrent use. Its tables
// are immutable snapshots swapped atomically when the config is reloaded
// (Reload) or the run-time keys change (Run), so Resolve takes no lock.
type Resolver struct {
	ks KeyStore

	mu      sync.Mutex // serialises rebuilds
	cfg     *settings  // guarded by mu
	runtime []StoredKey
	table   atomic.Pointer[table]
}

// settings is what the config file decides: plans, config keys, proxies
// and costs. Built and checked by newSettings.
type settings struct {
	plans       map[string]*plan
	anon        *plan
	configKeys  map[digest]*keyEntry
	configNames map[string]*keyEntry
	proxies     proxies
	costs       map[string]int
	defaultCost int
}

// table is settings plus the run-time keys, merged.
type table struct {
	*settings
	keys map[digest]*keyEntry
}

type plan struct {
	name     string
	cfg      *config.Plan
	priority Priority
	chains   map[string]struct{} // nil: every chain
	methods  *route.Methods      // nil: every method
}

type keyEntry struct {
	name     string
	plan     *plan // nil when the key's plan is not configured
	planName string
	disabled bool
	metrics  bool
	limitKey string // "key:<name>", built once, not per request
	refused  error  // non-nil when the key may not be used
	config   bool
	created  time.Time
}

// Built-in method costs (compute units), used when tenancy.costs does not
// name the method.
const (
	costGetLogs = 20
	costCall    = 2
	costTrace   = 20 // debug_* and trace_*
	// DefaultCost is the cost of any other method unless
	// tenancy.default_cost says otherwise.
	DefaultCost = 1
)

// NewResolver checks the config's plans, keys and tenancy settings and
// loads the run-time keys from ks. A KeyStore that cannot be read now
// (Redis down) is no error: Run fills the keys in once it answers.
func NewResolver(cfg *config.Config, ks KeyStore) (*Resolver, error) {
	s, err := newSettings(cfg)
	if err != nil {
		return nil, err
	}
	if ks == nil {
		ks = NewMemoryKeys()
	}
	r := &Resolver{ks: ks, cfg: s}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if set, err := ks.List(ctx); err == nil {
		r.runtime = set
	}
	r.rebuild()
	return r, nil
}

// Reload swaps in a new config's plans, keys, proxies and costs; run-time
// keys stay. An invalid config is refused and the old one keeps serving.
func (r *Resolver) Reload(cfg *config.Config) error {
	s, err := newSettings(cfg)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfg = s
	r.rebuild()
	return nil
}

// Run keeps the run-time keys current by watching the KeyStore, until ctx
// ends. Run it in a goroutine you join at shutdown.
func (r *Resolver) Run(ctx context.Context) {
	r.ks.Watch(ctx, r.setRuntime)
}

// setRuntime replaces the run-time keys (a full set from the store).
func (r *Resolver) setRuntime(set []StoredKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runtime = set
	r.rebuild()
}

// rebuild merges config and run-time keys; r.mu must be held. A config
// key wins over a run-time key of the same name or secret (the run-time
// one is ignored while the config key exists).
func (r *Resolver) rebuild() {
	s := r.cfg
	t := &table{settings: s, keys: make(map[digest]*keyEntry, len(s.configKeys)+len(r.runtime))}
	maps.Copy(t.keys, s.configKeys)
	for _, k := range r.runtime {
		d, err := ParseHash(k.Hash)
		if err != nil {
			continue // stores validate; belt and braces
		}
		if _, ok := s.configNames[k.Name]; ok {
			continue
		}
		if _, ok := t.keys[d]; ok {
			continue
		}
		t.keys[d] = s.entry(k.Name, k.Plan, k.Disabled, k.Metrics, false, k.Created)
	}
	r.table.Store(t)
}

func (s *settings) entry(name, planName string, disabled, metrics, fromConfig bool, created time.Time) *keyEntry {
	e := &keyEntry{
		name: name, planName: planName, plan: s.plans[planName], disabled: disabled, metrics: metrics,
		limitKey: "key:" + name, config: fromConfig, created: created,
	}
	switch {
	case disabled:
		e.refused = ErrKeyDisabled
	case e.plan == nil:
		e.refused = fmt.Errorf("%w: its plan %q is not configured", ErrKeyDisabled, planName)
	}
	return e
}

// Resolve identifies a request to chain. chainKeys is the chain's keys
// setting ("optional", the default, or "required"); keySegment is the path
// segment after the chain ("/eth/<key>"), or "".
//
// The key is taken from the first of: keySegment, the X-Api-Key header,
// the "key" query parameter. Keyless traffic gets the anonymous plan and
// LimitKey "ip:<client ip>".
//
// Priority is the plan's class. When the plan has priority_header: true,
// "X-Fast-Track: true" or "X-High-Priority: true" raise it for this
// request. They never lower it: a client or SDK that sends
// X-High-Priority everywhere must not demote a fast-track key, and a
// client wanting less urgency can use a key of a lower plan. The headers
// change the queue only, never the limits.
func (r *Resolver) Resolve(req Request, chain, chainKeys, keySegment string) (Identity, error) {
	t := r.table.Load()
	id := Identity{ClientIP: t.proxies.clientIP(req)}
	secret := keySegment
	if secret == "" {
		secret = req.Header("X-Api-Key")
	}
	if secret == "" {
		secret = req.Query("key")
	}
	var p *plan
	if secret == "" {
		if chainKeys == "required" {
			return id, ErrKeyRequired
		}
		p = t.anon
		id.Anonymous = true
		id.UsageKey = anonymousUsageKey
		if id.ClientIP.IsValid() {
			var buf [64]byte // one allocation: the string itself
			id.LimitKey = string(id.ClientIP.AppendTo(append(buf[:0], "ip:"...)))
		} else {
			id.LimitKey = "ip:unknown"
		}
	} else {
		e, ok := t.keys[hashString(secret)]
		if !ok {
			return id, ErrUnknownKey
		}
		if e.refused != nil {
			return id, e.refused
		}
		p = e.plan
		id.Key, id.Metrics, id.LimitKey, id.UsageKey = e.name, e.metrics, e.limitKey, e.limitKey
	}
	if p.chains != nil {
		if _, ok := p.chains[chain]; !ok {
			return id, ErrChainNotAllowed
		}
	}
	id.Plan, id.PlanCfg, id.plan, id.Priority = p.name, p.cfg, p, p.priority
	if p.cfg.PriorityHeader {
		if isTrue(req.Header("X-Fast-Track")) {
			id.Priority = FastTrack
		} else if isTrue(req.Header("X-High-Priority")) {
			id.Priority = max(id.Priority, High)
		}
	}
	return id, nil
}

// hashString hashes a secret without copying it to the heap: secrets up
// to 128 bytes use a stack buffer.
func hashString(s string) digest {
	var buf [128]byte
	if len(s) <= len(buf) {
		return sha256.Sum256(append(buf[:0], s...))
	}
	return sha256.Sum256([]byte(s))
}

func isTrue(v string) bool { return v == "true" || v == "1" || strings.EqualFold(v, "true") }

// Cost is the compute units of one call to method: tenancy.costs when it
// names the method, else the built-in cost (eth_getLogs 20, eth_call 2,
// debug_* and trace_* 20), else tenancy.default_cost (default 1).
// tenancy.costs adds to and overrides the built-ins; it does not replace
// them wholesale.
func (r *Resolver) Cost(method string) int {
	t := r.table.Load()
	if c, ok := t.costs[method]; ok {
		return c
	}
	switch {
	case method == "eth_getLogs":
		return costGetLogs
	case method == "eth_call":
		return costCall
	case strings.HasPrefix(method, "debug_"), strings.HasPrefix(method, "trace_"):
		return costTrace
	}
	return t.defaultCost
}

// configError names the config field that is wrong.
type configError struct{ field, msg string }

func (e *configError) Error() string { return e.field + ": " + e.msg }

func newSettings(cfg *config.Config) (*settings, error) {
	s := &settings{
		plans:       map[string]*plan{},
		configKeys:  map[digest]*keyEntry{},
		configNames: map[string]*keyEntry{},
		costs:       map[string]int{},
		defaultCost: DefaultCost,
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Plans)) {
		pc := cfg.Plans[name]
		field := "plans." + name
		if pc == nil {
			pc = &config.Plan{}
		}
		prio, err := ParsePriority(pc.Priority)
		if err != nil {
			return nil, &configError{field + ".priority", err.Error()}
		}
		p := &plan{name: name, cfg: pc, priority: prio}
		if len(pc.Chains) > 0 {
			p.chains = map[string]struct{}{}
			for _, c := range pc.Chains {
				if _, ok := cfg.Chains[c]; !ok {
					return nil, &configError{field + ".chains", fmt.Sprintf("chain %q is not configured (chains: %s)",
						c, strings.Join(slices.Sorted(maps.Keys(cfg.Chains)), ", "))}
				}
				p.chains[c] = struct{}{}
			}
		}
		if len(pc.Methods.Allow)+len(pc.Methods.Deny) > 0 {
			p.methods = route.NewMethods(nil, "", pc.Methods.Allow, pc.Methods.Deny)
		}
		s.plans[name] = p
	}
	s.anon = s.plans[AnonymousPlan]
	if s.anon == nil {
		s.anon = &plan{name: AnonymousPlan, cfg: &config.Plan{Priority: "low"}, priority: Low}
	}
	for i, k := range cfg.Keys {
		field := fmt.Sprintf("keys[%d]", i)
		if k == nil {
			return nil, &configError{field, "is empty"}
		}
		if err := checkKeyName(k.Name); err != nil {
			return nil, &configError{field + ".name", err.Error()}
		}
		field = fmt.Sprintf("keys[%d] (%s)", i, k.Name)
		if _, dup := s.configNames[k.Name]; dup {
			return nil, &configError{field + ".name", "is used by another key; names must be unique"}
		}
		var d digest
		switch {
		case k.Key != "" && k.Hash != "":
			return nil, &configError{field, "give key or hash, not both"}
		case k.Key != "":
			d = sha256.Sum256([]byte(k.Key))
		case k.Hash != "":
			var err error
			if d, err = ParseHash(k.Hash); err != nil {
				return nil, &configError{field + ".hash", err.Error()}
			}
		default:
			return nil, &configError{field, "needs key (the secret, e.g. ${ALICE_KEY}) or hash (sha256:<hex>)"}
		}
		if _, ok := s.plans[k.Plan]; !ok {
			return nil, &configError{field + ".plan", fmt.Sprintf("plan %q is not defined (plans: %s)",
				k.Plan, strings.Join(slices.Sorted(maps.Keys(s.plans)), ", "))}
		}
		if other, dup := s.configKeys[d]; dup {
			return nil, &configError{field, fmt.Sprintf("has the same secret as key %q", other.name)}
		}
		e := s.entry(k.Name, k.Plan, k.Disabled, k.Metrics, true, time.Time{})
		s.configKeys[d] = e
		s.configNames[k.Name] = e
	}
	var err error
	if s.proxies, err = parseProxies(cfg.Tenancy.TrustedProxies); err != nil {
		return nil, err
	}
	for m, c := range cfg.Tenancy.Costs {
		if c < 0 {
			return nil, &configError{"tenancy.costs." + m, "must not be negative"}
		}
		s.costs[m] = c
	}
	switch {
	case cfg.Tenancy.DefaultCost < 0:
		return nil, &configError{"tenancy.default_cost", "must not be negative"}
	case cfg.Tenancy.DefaultCost > 0:
		s.defaultCost = cfg.Tenancy.DefaultCost
	}
	return s, nil
}
