// Package tenant tells who is calling, under which plan, and what they
// used: API keys (from the config file and added at run time), plans,
// client IPs behind trusted proxies, priority classes, method costs and
// per-day usage accounting. It decides nothing about nodes.
package tenant

import (
	"net/netip"

	"github.com/rpcgate/rpcgate/internal/config"
)

// Identity is the outcome of Resolve: the caller and what their plan
// allows. It is a value; copying it is cheap.
type Identity struct {
	// Key is the key's name; empty for anonymous traffic.
	Key string
	// Plan is the plan's name ("anonymous" for keyless traffic).
	Plan string
	// PlanCfg is the plan as configured. For keyless traffic without an
	// "anonymous" plan it is a plan of low priority and no limits.
	PlanCfg   *config.Plan
	Anonymous bool
	// ClientIP is the TCP peer, or what a trusted proxy says the client
	// is. Invalid when RemoteAddr is not an IP address.
	ClientIP netip.Addr
	Priority Priority
	// Metrics is true for keys marked metrics: true (export usage with a
	// per-key label; otherwise only per plan).
	Metrics bool
	// LimitKey is what rate limits and quotas count against:
	// "key:<name>", or "ip:<client ip>" for keyless traffic.
	LimitKey string
	// UsageKey is what Usage accounts against: "key:<name>", or
	// "plan:anonymous" for all keyless traffic together, so client IPs
	// never become usage records (unbounded cardinality, personal data).
	UsageKey string

	plan *plan
}

// MethodAllowed applies the plan's methods allow/deny lists (exact names
// or globs, deny wins), on top of the chain's own policy.
func (id Identity) MethodAllowed(method string) bool {
	if id.plan == nil || id.plan.methods == nil {
		return true
	}
	return id.plan.methods.Allowed(method)
}

// UsageKeyOf is the UsageKey of the key named name, or of keyless traffic
// for "anonymous".
func UsageKeyOf(name string) string {
	if name == AnonymousPlan {
		return anonymousUsageKey
	}
	return "key:" + name
}

const anonymousUsageKey = "plan:" + AnonymousPlan
