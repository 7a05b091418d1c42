package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/rpcgate/rpcgate/internal/nodespec"
)

// Validate checks a Config built in code (Load and Parse already did). Its
// problems carry paths but no lines. Call ApplyDefaults first.
func (c *Config) Validate() error {
	return validate(c, newSource(c.File)).err()
}

// validate runs every semantic check on a decoded config with defaults
// applied and returns all problems, each placed by src.
func validate(cfg *Config, src *source) Problems {
	v := &checker{src: src}
	v.listen("listen", cfg.Listen)
	v.admin(cfg.Admin)
	v.registry(cfg.Registry)
	if cfg.Snapshots.Dir != "" && !cfg.Snapshots.Public && cfg.Admin.Listen == "" {
		v.at("snapshots.dir", "snapshots.dir is set, snapshots.public is false, and admin.listen is empty: nothing would serve it",
			"set admin.listen (snapshots are then served there, behind admin.token), or set snapshots.public: true")
	}
	v.atLeast("limits.max_body_bytes", cfg.Limits.MaxBodyBytes, 1)
	v.atLeast("limits.max_batch", int64(cfg.Limits.MaxBatch), 1)
	v.atLeast("limits.max_inflight_body_bytes", cfg.Limits.MaxInflightBodyBytes, 1)
	v.atLeast("limits.max_inflight_body_bytes_per_ip", cfg.Limits.MaxInflightBodyBytesPerIP, 1)
	v.atLeast("limits.max_conns_per_ip", int64(cfg.Limits.MaxConnsPerIP), 1)
	v.atLeast("limits.max_response_bytes", cfg.Limits.MaxResponseBytes, 1)
	v.positive("shutdown_timeout", cfg.ShutdownTimeout)
	if len(cfg.Chains) == 0 {
		v.atKey("chains", "no chains are configured",
			"add one under chains: with a chain_id, nodes and a default group (see examples/minimal.yaml)")
	}
	hosts := map[string]string{} // host → path of its first claim
	for _, name := range slices.Sorted(maps.Keys(cfg.Chains)) {
		v.chain(name, cfg.Chains[name], hosts)
		v.chainKeys(name, cfg.Chains[name], len(cfg.Plans) > 0)
	}
	chainNames := slices.Sorted(maps.Keys(cfg.Chains))
	for _, name := range slices.Sorted(maps.Keys(cfg.Plans)) {
		v.plan(name, cfg.Plans[name], chainNames)
	}
	v.keys(cfg.Keys, slices.Sorted(maps.Keys(cfg.Plans)))
	v.tenancy(cfg.Tenancy, cfg.Registry.Redis != "")
	v.orchestrator(cfg.Orchestrator, cfg.Chains)
	v.sessions(cfg.Sessions)
	v.summaries(cfg.Summaries, chainNames)
	return v.ps
}

// checker collects problems; a path that already failed to decode is not
// reported again.
type checker struct {
	src *source
	ps  Problems
}

// at reports a problem with the value at path.
func (v *checker) at(path, msg, hint string) {
	if v.src.suppressed(path) {
		return
	}
	line, col := v.src.at(path)
	v.ps = append(v.ps, Problem{File: v.src.file, Line: line, Column: col, Path: path, Msg: msg, Hint: hint})
}

// atKey reports a problem with the key of path (a bad name).
func (v *checker) atKey(path, msg, hint string) {
	if v.src.suppressed(path) {
		return
	}
	line, col := v.src.keyAt(path)
	v.ps = append(v.ps, Problem{File: v.src.file, Line: line, Column: col, Path: path, Msg: msg, Hint: hint})
}

// line is the line of path's value, for messages that name two places.
func (v *checker) line(path string) int {
	l, _ := v.src.at(path)
	return l
}

func (v *checker) atLeast(path string, n, lo int64) {
	if n < lo {
		v.at(path, fmt.Sprintf("%s must be at least %d, got %d", lastKey(path), lo, n),
			fmt.Sprintf("set %s to %d or more, or remove it to use the default", lastKey(path), lo))
	}
}

// set reports whether the file wrote path, or (for a Config built in code,
// which has no positions) whether val is not empty.
func (v *checker) set(path, val string) bool {
	return val != "" || v.src.has(path)
}

func (v *checker) positive(path string, d Duration) {
	if d <= 0 {
		v.at(path, fmt.Sprintf("%s must be longer than zero, got %s", lastKey(path), d),
			fmt.Sprintf(`set %s to a duration such as "1s", or remove it to use the default`, lastKey(path)))
	}
}

// listen checks a host:port listen address and reports whether it is one.
func (v *checker) listen(p, addr string) bool {
	key := lastKey(p)
	if strings.HasPrefix(p, "admin.") {
		key = p
	}
	hint := fmt.Sprintf("write %s: 127.0.0.1:8545, or :8545 for every interface", key)
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.at(p, fmt.Sprintf("%s %q is not host:port", key, addr), hint)
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.at(p, fmt.Sprintf("%s %q has no valid port (0-65535)", key, addr), hint)
		return false
	}
	return true
}

// admin checks the admin listener: it changes the fleet, so it must be
// private or protected by a token.
func (v *checker) admin(a Admin) {
	for i, h := range a.AllowNodeHosts {
		if _, err := nodespec.ParseHostRule(h); err != nil {
			v.at(indexPath("admin.allow_node_hosts", i), "admin.allow_node_hosts: "+err.Error(),
				`write a CIDR such as 10.0.0.0/8, an address such as 10.0.0.1, or a host glob such as "*.nodes.example" (no scheme or port)`)
		}
	}
	if a.Listen == "" {
		return
	}
	if !v.listen("admin.listen", a.Listen) {
		return
	}
	host, _, _ := net.SplitHostPort(a.Listen)
	if !isLoopback(host) && strings.TrimSpace(a.Token) == "" {
		v.at("admin.listen", fmt.Sprintf("admin.listen %q is reachable from other hosts but admin.token is empty", a.Listen),
			"set admin.token or bind admin.listen to 127.0.0.1")
	}
}

// registry checks the Redis URL, which is only dialled later.
func (v *checker) registry(r Registry) {
	if r.Redis == "" {
		return
	}
	u, err := url.Parse(r.Redis)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		v.at("registry.redis", fmt.Sprintf("registry.redis %q is not a redis:// or rediss:// URL with a host", redact(r.Redis)),
			`write e.g. redis: "redis://127.0.0.1:6379/0"`)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// nameRE is what chain, node and group names must look like: they appear in
// URLs, metric labels and logs.
var nameRE = nodespec.NameRE

const nameHint = nodespec.NameHint

// methodRE is what a method pattern may contain; '*' is a path.Match glob.
var methodRE = regexp.MustCompile(`^[A-Za-z0-9_*]+$`)

// pattern checks one method name or glob.
func (v *checker) pattern(p, pat string) bool {
	if _, err := path.Match(pat, ""); err != nil || !methodRE.MatchString(pat) {
		v.at(p, fmt.Sprintf("%q is not a method name or glob", pat),
			`use letters, digits, '_' and '*' as a wildcard, e.g. "eth_getLogs" or "debug_*"`)
		return false
	}
	return true
}

func (v *checker) patterns(p string, pats []string) {
	for i, pat := range pats {
		v.pattern(indexPath(p, i), pat)
	}
}

func (v *checker) chain(name string, ch *Chain, hosts map[string]string) {
	p := joinPath("chains", name)
	if !nameRE.MatchString(name) {
		v.atKey(p, fmt.Sprintf("chain name %q is not valid", name), nameHint)
	}
	if ch == nil {
		ch = &Chain{}
	}
	if ch.ChainID == 0 {
		if v.src.has(p + ".chain_id") {
			v.at(p+".chain_id", fmt.Sprintf("chain %q: chain_id must be greater than 0", name),
				"set the EIP-155 id the nodes report via eth_chainId, e.g. chain_id: 1 for Ethereum mainnet")
		} else {
			v.atKey(p, fmt.Sprintf("chain %q has no chain_id", name),
				"add the EIP-155 id the nodes report via eth_chainId, e.g. chain_id: 1 for Ethereum mainnet")
		}
	}
	v.hosts(name, p, ch.Hosts, hosts)
	v.positive(p+".poll_interval", ch.PollInterval)
	v.positive(p+".timeout", ch.Timeout)
	for _, m := range slices.Sorted(maps.Keys(ch.MethodTimeouts)) {
		mp := joinPath(p+".method_timeouts", m)
		if !methodRE.MatchString(m) {
			v.atKey(mp, fmt.Sprintf("%q is not a method name or glob", m),
				`use letters, digits, '_' and '*' as a wildcard, e.g. "eth_getLogs" or "debug_*"`)
		}
		v.positive(mp, ch.MethodTimeouts[m])
	}
	if ch.MaxAttempts < 1 || ch.MaxAttempts > 10 {
		v.at(p+".max_attempts", fmt.Sprintf("max_attempts must be between 1 and 10, got %d", ch.MaxAttempts),
			"set max_attempts: 3 (each attempt goes to a different node)")
	}
	v.positive(p+".attempt_timeout.min", ch.AttemptTimeout.Min)
	v.positive(p+".attempt_timeout.max", ch.AttemptTimeout.Max)
	if at := ch.AttemptTimeout; at.Min > 0 && at.Max > 0 && at.Min > at.Max {
		v.at(p+".attempt_timeout.min", fmt.Sprintf("attempt_timeout.min (%s) is longer than attempt_timeout.max (%s)", at.Min, at.Max),
			"the per-attempt timeout is kept between min and max; make min <= max, e.g. {min: 500ms, max: 2s}")
	}
	v.patterns(p+".writes", ch.Writes)
	v.patterns(p+".methods.allow", ch.Methods.Allow)
	v.patterns(p+".methods.deny", ch.Methods.Deny)
	v.health(p+".health", ch.Health)
	v.cache(p+".cache", ch.Cache)

	v.store(p+".store", ch.Store)
	if len(ch.Nodes) == 0 && !ch.Store.Reads() {
		v.atKey(p+".nodes", fmt.Sprintf("chain %q has no nodes", name),
			`add at least one: nodes: {a: {url: "http://10.0.0.1:8545"}}`)
	}
	for _, n := range slices.Sorted(maps.Keys(ch.Nodes)) {
		v.node(joinPath(p+".nodes", n), n, ch.Nodes[n])
	}
	v.groups(name, p, ch)
	v.relayer(p, ch)
}

// hosts checks a chain's Host names; a host may route to one chain only.
func (v *checker) hosts(chain, p string, hs []string, claimed map[string]string) {
	for i, h := range hs {
		hp := indexPath(p+".hosts", i)
		host := strings.ToLower(strings.TrimSpace(h))
		if _, _, err := net.SplitHostPort(host); err == nil || host == "" || strings.ContainsAny(host, "/ ") {
			v.at(hp, fmt.Sprintf("host %q is not a bare host name", h),
				"write the Host header value without scheme, port or path, e.g. hosts: [eth.rpc.example]")
			continue
		}
		first, dup := claimed[host]
		if !dup {
			claimed[host] = hp
			continue
		}
		firstChain := lastKey(parentPath(parentPath(first)))
		if firstChain == chain {
			v.at(hp, fmt.Sprintf("host %q is listed twice for chain %q (first at line %d)", h, chain, v.line(first)),
				"remove one of them")
			continue
		}
		v.at(hp, fmt.Sprintf("host %q is claimed by chains %q (line %d) and %q (line %d)",
			h, firstChain, v.line(first), chain, v.line(hp)),
			"a Host header can route to one chain only; remove it from one of them")
	}
}

func (v *checker) health(p string, h Health) {
	v.atLeast(p+".fail_threshold", int64(h.FailThreshold), 1)
	v.positive(p+".backoff_min", h.BackoffMin)
	v.positive(p+".backoff_max", h.BackoffMax)
	v.positive(p+".probe_timeout", h.ProbeTimeout)
	if h.BackoffMin > 0 && h.BackoffMax > 0 && h.BackoffMin > h.BackoffMax {
		v.at(p+".backoff_min", fmt.Sprintf("backoff_min (%s) is longer than backoff_max (%s, line %d)",
			h.BackoffMin, h.BackoffMax, v.line(p+".backoff_max")),
			"backoff starts at backoff_min and doubles up to backoff_max; make backoff_min <= backoff_max")
	}
}

// node checks one node by nodespec's rules (the admin API and the
// registry use the same ones, with the same messages) and places each
// problem at its YAML key.
func (v *checker) node(p, name string, n *Node) {
	if n == nil {
		n = &Node{}
	}
	for _, pr := range n.Spec(name).Validate() {
		switch {
		case pr.Field == nodespec.FieldName:
			v.atKey(p, pr.Msg, pr.Hint)
		case pr.Field == nodespec.FieldHeaders && pr.AtKey:
			v.atKey(joinPath(p+".headers", pr.Header), pr.Msg, pr.Hint)
		case pr.Field == nodespec.FieldHeaders:
			v.at(joinPath(p+".headers", pr.Header), pr.Msg, pr.Hint)
		default:
			v.at(p+"."+pr.Field, pr.Msg, pr.Hint)
		}
	}
}

func validURL(raw string, schemes ...string) bool { return nodespec.ValidURL(raw, schemes...) }

// redact hides credentials (userinfo, query) in a URL shown in a problem;
// config problems end up in logs.
func redact(raw string) string { return nodespec.Redact(raw) }

// groups checks a chain's groups: the default group, node references,
// method claims and fallbacks.
func (v *checker) groups(chain, p string, ch *Chain) {
	gp := p + ".groups"
	nodeNames := slices.Sorted(maps.Keys(ch.Nodes))
	groupNames := slices.Sorted(maps.Keys(ch.Groups))
	if _, ok := ch.Groups["default"]; !ok {
		example := "a"
		if len(nodeNames) > 0 {
			example = strings.Join(nodeNames, ", ")
		}
		v.atKey(gp, fmt.Sprintf("chain %q has no \"default\" group", chain),
			fmt.Sprintf("add groups: {default: {nodes: [%s]}}; it serves every method no other group claims", example))
	}

	type claim struct{ group, path string }
	claims := map[string][]claim{}
	for _, g := range groupNames {
		grp := ch.Groups[g]
		if grp == nil {
			grp = &Group{}
		}
		p := joinPath(gp, g)
		if !nameRE.MatchString(g) {
			v.atKey(p, fmt.Sprintf("group name %q is not valid", g), nameHint)
		}
		if grp.Store && !ch.Store.Reads() {
			v.atKey(p+".store", fmt.Sprintf("group %q is store-backed but the chain has no store that reads", g),
				`add store: {postgres: "postgres://...", role: reader} to the chain, or remove store: true`)
		}
		if len(grp.Nodes) == 0 && !grp.Store {
			v.atKey(p+".nodes", fmt.Sprintf("group %q has no nodes", g),
				fmt.Sprintf("list the nodes serving it by name, e.g. nodes: [%s]", strings.Join(nodeNames, ", ")))
		}
		seen := map[string]int{}
		for i, n := range grp.Nodes {
			np := indexPath(p+".nodes", i)
			if j, dup := seen[n]; dup {
				v.at(np, fmt.Sprintf("group %q lists node %q twice", g, n),
					fmt.Sprintf("remove one (the first is at line %d); use weight to send a node more traffic", v.line(indexPath(p+".nodes", j))))
				continue
			}
			seen[n] = i
			if _, ok := ch.Nodes[n]; !ok {
				v.at(np, fmt.Sprintf("group %q names node %q, which chain %q does not have", g, n, chain),
					suggest(n, nodeNames, "nodes of "+chain))
			}
		}
		if g == "default" && len(grp.Methods) > 0 {
			v.at(p+".methods", `the "default" group may not list methods`,
				"it serves every method no other group claims; move these methods to a named group")
		} else {
			for i, m := range grp.Methods {
				mp := indexPath(p+".methods", i)
				if v.pattern(mp, m) {
					claims[m] = append(claims[m], claim{g, mp})
				}
			}
		}
		switch {
		case grp.Fallback == "":
		case grp.Fallback == g:
			v.at(p+".fallback", fmt.Sprintf("group %q falls back to itself", g),
				`name another group, e.g. fallback: default, or remove fallback`)
		default:
			if _, ok := ch.Groups[grp.Fallback]; !ok {
				v.at(p+".fallback", fmt.Sprintf("group %q falls back to %q, which chain %q does not have", g, grp.Fallback, chain),
					suggest(grp.Fallback, groupNames, "groups of "+chain))
			}
		}
	}

	for _, m := range slices.Sorted(maps.Keys(claims)) {
		cs := claims[m]
		slices.SortStableFunc(cs, func(a, b claim) int { return v.line(a.path) - v.line(b.path) })
		for _, c := range cs[1:] {
			first := cs[0]
			if c.group == first.group {
				v.at(c.path, fmt.Sprintf("group %q lists method %q twice (first at line %d)", c.group, m, v.line(first.path)),
					"remove one of them")
				continue
			}
			v.at(c.path, fmt.Sprintf("method %q is claimed by groups %q (line %d) and %q (line %d)",
				m, first.group, v.line(first.path), c.group, v.line(c.path)),
				"a method is served by one group only; remove it from one of them (use fallback to share nodes)")
		}
	}

	v.fallbackLoops(chain, gp, ch.Groups, groupNames)
	if ch.WSGroup != "" {
		if _, ok := ch.Groups[ch.WSGroup]; !ok {
			v.at(p+".ws_group", fmt.Sprintf("ws_group %q is not a group of chain %q", ch.WSGroup, chain),
				suggest(ch.WSGroup, groupNames, "groups of "+chain))
		}
	}
}

// fallbackLoops reports each cycle of fallbacks once (self-fallback is
// reported by groups), at the fallback of its alphabetically first group.
func (v *checker) fallbackLoops(chain, gp string, groups map[string]*Group, names []string) {
	next := func(g string) string {
		if grp := groups[g]; grp != nil {
			if _, ok := groups[grp.Fallback]; ok {
				return grp.Fallback
			}
		}
		return ""
	}
	// done holds groups already walked: each is in a reported cycle or leads
	// to an end or to one, so every group is walked once.
	done := map[string]bool{}
	for _, start := range names {
		// Walk from start; a group seen twice closes a cycle.
		onPath := map[string]int{}
		var walk []string
		for g := start; g != "" && !done[g]; g = next(g) {
			if i, seen := onPath[g]; seen {
				cycle := walk[i:]
				if len(cycle) > 1 {
					first := slices.Min(cycle)
					k := slices.Index(cycle, first)
					ordered := append(slices.Clone(cycle[k:]), cycle[:k]...)
					ordered = append(ordered, first)
					v.at(joinPath(gp, first)+".fallback",
						fmt.Sprintf("fallbacks of chain %q loop: %s", chain, strings.Join(ordered, " → ")),
						"end the chain of fallbacks at a group without fallback (usually default)")
				}
				break
			}
			onPath[g] = len(walk)
			walk = append(walk, g)
		}
		for _, g := range walk {
			done[g] = true
		}
	}
}

// suggest is a hint for a name that does not exist: the closest existing one
// if any, and the full list.
func suggest(name string, have []string, what string) string {
	list := "none"
	if len(have) > 0 {
		list = strings.Join(have, ", ")
	}
	if c := closest(name, have); c != "" {
		return fmt.Sprintf("did you mean %q? %s: %s", c, what, list)
	}
	return fmt.Sprintf("%s: %s", what, list)
}

// Checks of plans, keys, tenancy and scheduling (issue 4).

var (
	priorities    = []string{PriorityFastTrack, PriorityHigh, PriorityLow}
	keyModes      = []string{KeysOptional, KeysRequired}
	redisFailures = []string{OnRedisErrorOpen, OnRedisErrorClosed}
)

// oneOf checks that val is one of allowed; the hint lists them.
func (v *checker) oneOf(p, what, val string, allowed []string) {
	if slices.Contains(allowed, val) {
		return
	}
	hint := fmt.Sprintf("write %s: %s", lastKey(p), orList(allowed))
	if c := closest(val, allowed); c != "" {
		hint = fmt.Sprintf("did you mean %q? write %s: %s", c, lastKey(p), orList(allowed))
	}
	v.at(p, fmt.Sprintf("%s: %s %q is not one of %s", what, lastKey(p), val, strings.Join(allowed, ", ")), hint)
}

func (v *checker) plan(name string, pl *Plan, chains []string) {
	p := joinPath("plans", name)
	what := fmt.Sprintf("plan %q", name)
	if !nameRE.MatchString(name) {
		v.atKey(p, fmt.Sprintf("plan name %q is not valid", name), nameHint)
	}
	if pl == nil {
		pl = &Plan{Priority: DefaultPlanPriority}
	}
	v.oneOf(p+".priority", what, pl.Priority, priorities)
	if r := pl.Rate; r != nil {
		rp := p + ".rate"
		switch {
		case r.PerSecond == 0 && !v.src.has(rp+".per_second"):
			v.at(rp+".per_second", fmt.Sprintf("%s: rate has no per_second", what),
				"set rate: {per_second: 10} (compute units per second), or remove rate for no limit")
		case !(r.PerSecond > 0) || math.IsInf(r.PerSecond, 0):
			v.at(rp+".per_second", fmt.Sprintf("%s: per_second must be a number greater than 0, got %v", what, r.PerSecond),
				"set per_second to the compute units refilled per second, e.g. per_second: 10 or 0.5; remove rate for no limit")
		}
		if r.Burst < 1 {
			v.at(rp+".burst", fmt.Sprintf("%s: burst must be at least 1, got %d", what, r.Burst),
				"set burst to the most compute units spent at once, or remove it to use per_second rounded up")
		}
	}
	for _, q := range []struct {
		key string
		n   int64
	}{{"daily", pl.Quota.Daily}, {"monthly", pl.Quota.Monthly}} {
		if q.n < 0 {
			v.at(p+".quota."+q.key, fmt.Sprintf("%s: quota.%s must be at least 0, got %d", what, q.key, q.n),
				fmt.Sprintf("set %s to a number of compute units, or 0 (or remove it) for no cap", q.key))
		}
	}
	for i, c := range pl.Chains {
		if _, ok := slices.BinarySearch(chains, c); !ok {
			v.at(indexPath(p+".chains", i), fmt.Sprintf("%s names chain %q, which is not configured", what, c),
				suggest(c, chains, "chains"))
		}
	}
	v.patterns(p+".methods.allow", pl.Methods.Allow)
	v.patterns(p+".methods.deny", pl.Methods.Deny)
}

// hashRE is the form of Key.Hash.
var hashRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func (v *checker) keys(keys []*Key, plans []string) {
	names := map[string]string{}   // name → path of its first use
	secrets := map[string]string{} // sha256 hex of the secret → path of its first key
	for i, k := range keys {
		p := indexPath("keys", i)
		if k == nil {
			k = &Key{}
		}
		what := fmt.Sprintf("key %q", k.Name)
		switch {
		case k.Name == "":
			what = fmt.Sprintf("keys[%d]", i)
			v.at(p+".name", fmt.Sprintf("%s has no name", what),
				"add name: alice; the name identifies the key in logs, metrics and the admin API")
		case !nameRE.MatchString(k.Name):
			v.at(p+".name", fmt.Sprintf("key name %q is not valid", k.Name), nameHint)
		default:
			if first, dup := names[k.Name]; dup {
				v.at(p+".name", fmt.Sprintf("key name %q is used twice (first at line %d)", k.Name, v.line(first)),
					"give every key its own name")
			} else {
				names[k.Name] = p + ".name"
			}
		}

		hasKey, hasHash := v.set(p+".key", k.Key), v.set(p+".hash", k.Hash)
		digest, secretPath := "", ""
		switch {
		case hasKey && hasHash:
			v.at(p+".hash", fmt.Sprintf("%s sets both key and hash", what),
				`keep one: key for the secret itself (e.g. key: "${ALICE_KEY}"), or hash for its sha256`)
		case !hasKey && !hasHash:
			v.atKey(p, fmt.Sprintf("%s has neither key nor hash", what),
				`add key: "${ALICE_KEY}" (the secret, from the environment) or hash: "sha256:<64 hex digits>"`)
		case hasKey:
			secretPath = p + ".key"
			if strings.TrimSpace(k.Key) == "" {
				v.at(secretPath, fmt.Sprintf("%s: key is empty", what),
					`set the secret, e.g. key: "${ALICE_KEY}" with ALICE_KEY exported and not empty`)
				break
			}
			sum := sha256.Sum256([]byte(k.Key))
			digest = hex.EncodeToString(sum[:])
		default:
			secretPath = p + ".hash"
			if !hashRE.MatchString(k.Hash) {
				v.at(secretPath, fmt.Sprintf(`%s: hash %q is not "sha256:" followed by 64 lowercase hex digits`, what, k.Hash),
					`write hash: "sha256:<digits>", the digits from: printf %s "$SECRET" | sha256sum`)
				break
			}
			digest = strings.TrimPrefix(k.Hash, "sha256:")
		}
		if digest != "" {
			if first, dup := secrets[digest]; dup {
				v.at(secretPath, fmt.Sprintf("%s has the same secret as key %q (line %d)",
					what, keyName(keys, first), v.line(first)),
					"every key needs its own secret: the secret alone identifies the client")
			} else {
				secrets[digest] = secretPath
			}
		}

		pp := p + ".plan"
		switch {
		case k.Plan == "":
			v.at(pp, fmt.Sprintf("%s has no plan", what), planHint("add plan: <name>", plans))
		case !slices.Contains(plans, k.Plan):
			hint := planHint("define it under plans:", plans)
			if len(plans) > 0 {
				hint = suggest(k.Plan, plans, "plans")
			}
			v.at(pp, fmt.Sprintf("%s names plan %q, which is not defined", what, k.Plan), hint)
		}
	}
}

// keyName is the name of the key whose secret is at path keys[i].key/hash.
func keyName(keys []*Key, path string) string {
	for i, k := range keys {
		if k != nil && strings.HasPrefix(path, indexPath("keys", i)+".") {
			return k.Name
		}
	}
	return ""
}

func planHint(prefix string, plans []string) string {
	if len(plans) == 0 {
		return prefix + " (no plans are defined; add one, e.g. plans: {pro: {priority: high}})"
	}
	return prefix + "; plans: " + strings.Join(plans, ", ")
}

// costRE is an exact method name: costs take no globs.
var costRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

func (v *checker) tenancy(t Tenancy, redis bool) {
	p := "tenancy"
	for _, m := range slices.Sorted(maps.Keys(t.Costs)) {
		mp := joinPath(p+".costs", m)
		if !costRE.MatchString(m) {
			hint := `use an exact method name of letters, digits and '_', e.g. eth_getLogs: 20`
			if strings.Contains(m, "*") {
				hint = "costs take exact method names, not globs; list each method, e.g. debug_traceCall: 20"
			}
			v.atKey(mp, fmt.Sprintf("costs: %q is not a method name", m), hint)
		}
		if c := t.Costs[m]; c < 1 {
			v.at(mp, fmt.Sprintf("costs: %s must be at least 1, got %d", m, c),
				"set it to 1 or more compute units, or remove it to use default_cost")
		}
	}
	v.atLeast(p+".default_cost", int64(t.DefaultCost), 1)
	for i, cidr := range t.TrustedProxies {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			v.at(indexPath(p+".trusted_proxies", i), fmt.Sprintf("trusted_proxies: %q is not a CIDR or an IP address", cidr),
				"write 10.0.0.0/8, or a single address such as 10.0.0.1")
		}
	}
	v.oneOf(p+".on_redis_error", "tenancy", t.OnRedisError, redisFailures)
	if t.SharedLimits != nil && *t.SharedLimits && !redis {
		v.at(p+".shared_limits", "tenancy.shared_limits is true but registry.redis is not set",
			`set registry.redis (e.g. "redis://127.0.0.1:6379/0"): shared limits are kept in Redis; or set shared_limits: false`)
	}
}

// chainKeys checks a chain's keys mode and scheduling.
func (v *checker) chainKeys(name string, ch *Chain, havePlans bool) {
	if ch == nil {
		return
	}
	p := joinPath("chains", name)
	what := fmt.Sprintf("chain %q", name)
	if slices.Contains(keyModes, ch.Keys) {
		if ch.Keys == KeysRequired && !havePlans {
			v.at(p+".keys", fmt.Sprintf("%s requires keys but no plans are defined, so no key can exist", what),
				"define a plan under plans: for keys to name (keys may come from the file or the admin API), or set keys: optional")
		}
	} else {
		v.oneOf(p+".keys", what, ch.Keys, keyModes)
	}
	s, sp := ch.Scheduling, p+".scheduling"
	v.atLeast(sp+".fast_track_per_high", int64(s.FastTrackPerHigh), 1)
	if !(s.LowShare > 0 && s.LowShare <= 1) {
		v.at(sp+".low_share", fmt.Sprintf("low_share must be greater than 0 and at most 1, got %v", s.LowShare),
			"set low_share to the share of dispatches kept for low priority, e.g. 0.1, or remove it to use the default")
	}
	v.positive(sp+".low_after", s.LowAfter)
	v.atLeast(sp+".queue.fast_track", int64(s.Queue.FastTrack), 1)
	v.atLeast(sp+".queue.high", int64(s.Queue.High), 1)
	v.atLeast(sp+".queue.low", int64(s.Queue.Low), 1)
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// cache checks a chain's cache block.
func (v *checker) store(p string, s *Store) {
	if s == nil {
		return
	}
	if s.Postgres == "" {
		v.atKey(p+".postgres", "store has no postgres URL", `set postgres: "${RPCGATE_STORE_URL}" (postgres://user@host:5432/db)`)
	}
	switch s.Role {
	case StoreReader, StoreWriter, StoreBoth:
	default:
		v.at(p+".role", fmt.Sprintf("store role %q is not reader, writer or both", s.Role), "set role: reader, writer or both")
	}
	v.positive(p+".timeout", s.Timeout)
}

func (v *checker) cache(p string, c *Cache) {
	if c == nil {
		return
	}
	if c.MaxBytes < 0 {
		v.at(p+".max_bytes", fmt.Sprintf("max_bytes must not be negative, got %d", c.MaxBytes),
			"set max_bytes: 67108864 (64 MiB), or remove it to use the default")
	}
	if c.UnfinalizedTTL != nil && *c.UnfinalizedTTL < 0 {
		v.at(p+".unfinalized_ttl", "unfinalized_ttl must not be negative", `set unfinalized_ttl: "2s", or 0 to keep no unfinalized answers`)
	}
	v.positive(p+".finality_poll", c.FinalityPoll)
	if c.RealtimeTTL < 0 {
		v.at(p+".realtime_ttl", "realtime_ttl must not be negative", `set realtime_ttl to a fraction of the block time such as "2s", or 0 (off)`)
	}
	for _, m := range slices.Sorted(maps.Keys(c.Methods)) {
		switch c.Methods[m] {
		case CachePolicyOff, CachePolicyFinalized, CachePolicyUnfinalized:
		default:
			v.at(joinPath(p+".methods", m), fmt.Sprintf("cache policy %q is not one of off, finalized, unfinalized", c.Methods[m]),
				"use off (never cached), finalized (only finalized answers) or unfinalized (the default)")
		}
	}
}
