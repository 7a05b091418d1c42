package frontend

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/ratelimit"
	"github.com/rpcgate/rpcgate/internal/schedule"
	"github.com/rpcgate/rpcgate/internal/tenant"
)

// Tenancy is the tenant stage of the request flow: who is calling, under
// which plan, whether their limits allow the request, at which priority it
// waits, and what it used.
type Tenancy struct {
	Resolver *tenant.Resolver
	Limiter  ratelimit.Limiter
	Quotas   ratelimit.Quotas
	Usage    tenant.Usage
	Metrics  *TenancyMetrics
	Now      func() time.Time
}

// TenancyMetrics are the tenant stage's collectors.
type TenancyMetrics struct {
	Limited      *prometheus.CounterVec // chain, plan, limit
	Denied       *prometheus.CounterVec // chain, reason
	LimiterError *prometheus.CounterVec // mode (open: admitted, closed: refused)
	UsageReqs    *prometheus.CounterVec // plan, key
	UsageCU      *prometheus.CounterVec // plan, key

	usage sync.Map // plan + "\x00" + key → *usageCounters
}

type usageCounters struct{ reqs, cu prometheus.Counter }

// usageFor returns the (bounded: plans × keys marked metrics) counters of
// a plan and key without a label lookup per call.
func (m *TenancyMetrics) usageFor(plan, key string) *usageCounters {
	k := plan // the common case (no per-key label) needs no concatenation
	if key != "" {
		k = plan + "\x00" + key
	}
	if v, ok := m.usage.Load(k); ok {
		return v.(*usageCounters)
	}
	v, _ := m.usage.LoadOrStore(k, &usageCounters{m.UsageReqs.WithLabelValues(plan, key), m.UsageCU.WithLabelValues(plan, key)})
	return v.(*usageCounters)
}

// NewTenancyMetrics registers the tenant collectors on reg.
func NewTenancyMetrics(reg prometheus.Registerer) *TenancyMetrics {
	m := &TenancyMetrics{
		Limited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_rate_limited_total",
			Help: "Requests refused with 429, by chain, plan and limit (rate, daily, monthly)."}, []string{"chain", "plan", "limit"}),
		Denied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_auth_denied_total",
			Help: "Requests refused for their API key, by chain and reason (unknown, disabled, required, chain)."}, []string{"chain", "reason"}),
		LimiterError: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_limiter_redis_errors_total",
			Help: "Shared-limit checks that could not reach Redis, by on_redis_error mode (open: admitted, closed: refused)."}, []string{"mode"}),
		UsageReqs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_usage_requests_total",
			Help: "Calls by plan; key is the key's name only for keys marked metrics: true, else empty."}, []string{"plan", "key"}),
		UsageCU: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_usage_compute_units_total",
			Help: "Compute units spent, by plan; key as for rpcgate_usage_requests_total."}, []string{"plan", "key"}),
	}
	reg.MustRegister(m.Limited, m.Denied, m.LimiterError, m.UsageReqs, m.UsageCU)
	return m
}

// identify resolves the caller; on failure it answers and reports false.
func (t *Tenancy) identify(x exchange, chain, keysMode, keySegment string, rec *record) (tenant.Identity, bool) {
	id, err := t.Resolver.Resolve(x, chain, keysMode, keySegment)
	if err == nil {
		rec.key, rec.plan = id.Key, id.Plan
		return id, true
	}
	status := tenant.HTTPStatus(err)
	code, reason := execute.CodeUnauthorized, "unknown"
	switch {
	case errors.Is(err, tenant.ErrKeyDisabled):
		reason = "disabled"
	case errors.Is(err, tenant.ErrKeyRequired):
		reason = "required"
	case errors.Is(err, tenant.ErrChainNotAllowed):
		code, reason = execute.CodeForbidden, "chain"
	}
	t.Metrics.Denied.WithLabelValues(chain, reason).Inc()
	if status == http.StatusUnauthorized {
		x.setHeader("WWW-Authenticate", `Bearer realm="rpcgate"`)
	}
	rec.error(x, status, nil, code, err.Error(), 0)
	return id, false
}

// admit spends cost against the caller's rate limit and quotas; when a
// limit refuses, it answers (429 with Retry-After, or 503 when a shared
// limit cannot be checked and fails closed) and reports false. id is the
// raw client id for a single call, nil for a batch.
func (t *Tenancy) admit(ctx context.Context, x exchange, id tenant.Identity, chain string, cost int, rpcID []byte, rec *record) bool {
	plan := id.PlanCfg
	if plan == nil || cost <= 0 {
		return true
	}
	if plan.Rate != nil {
		d, err := t.Limiter.Allow(ctx, id.LimitKey, cost, ratelimit.Rate{PerSecond: plan.Rate.PerSecond, Burst: plan.Rate.Burst})
		if !t.decided(x, d, err, id, chain, rpcID, rec, func() string {
			return "rate limit exceeded: plan " + id.Plan + " allows " + strconv.FormatFloat(plan.Rate.PerSecond, 'f', -1, 64) +
				" compute units/s (burst " + strconv.Itoa(plan.Rate.Burst) + "); this request costs " + strconv.Itoa(cost)
		}) {
			return false
		}
	}
	if plan.Quota.Daily > 0 || plan.Quota.Monthly > 0 {
		d, err := t.Quotas.Spend(ctx, id.LimitKey, int64(cost), plan.Quota.Daily, plan.Quota.Monthly, t.Now())
		if !t.decided(x, d, err, id, chain, rpcID, rec, func() string {
			return d.Limit + " exceeded for plan " + id.Plan + "; it resets in " + d.RetryAfter.Round(time.Second).String()
		}) {
			return false
		}
	}
	return true
}

// decided turns a limiter decision into an answer when it refuses.
func (t *Tenancy) decided(x exchange, d ratelimit.Decision, err error, id tenant.Identity, chain string, rpcID []byte, rec *record, msg func() string) bool {
	if err != nil && errors.Is(err, ratelimit.ErrRedisDown) {
		switch {
		case d.Allowed:
			t.Metrics.LimiterError.WithLabelValues("open").Inc()
			return true
		case d.Limit == "": // failing closed: no limit decided
			t.Metrics.LimiterError.WithLabelValues("closed").Inc()
			rec.error(x, http.StatusServiceUnavailable, rpcID, execute.CodeOverloaded,
				"rate limits cannot be checked right now; try again shortly", 1)
			return false
		}
		// Failing open onto the local limiter, which refused: a normal 429.
		t.Metrics.LimiterError.WithLabelValues("open").Inc()
	}
	if d.Allowed {
		return true
	}
	t.Metrics.Limited.WithLabelValues(chain, id.Plan, d.Limit).Inc()
	secs := int(math.Ceil(d.RetryAfter.Seconds()))
	data := `{"limit":` + strconv.Quote(d.Limit) + `,"retry_after_ms":` + strconv.FormatInt(d.RetryAfter.Milliseconds(), 10) + `}`
	if rpcID == nil {
		rpcID = []byte("null")
	}
	if secs < 1 {
		secs = 1
	}
	x.setHeader("Retry-After", strconv.Itoa(secs))
	rec.code = execute.CodeLimited
	rec.json(x, http.StatusTooManyRequests, jsonrpc.AppendError(nil, rpcID, execute.CodeLimited, msg(), []byte(data)))
	return false
}

// account records one answered call's usage.
func (t *Tenancy) account(ctx context.Context, id tenant.Identity, method string, cost int) {
	t.Usage.Add(ctx, id.UsageKey, method, int64(cost), t.Now())
	key := ""
	if id.Metrics {
		key = id.Key
	}
	u := t.Metrics.usageFor(id.Plan, key)
	u.reqs.Inc()
	u.cu.Add(float64(cost))
}

func classOf(id tenant.Identity) schedule.Class { return schedule.Class(id.Priority) }

func planDenied(m, plan string) string {
	return "the method " + m + " is not available on plan " + plan
}
