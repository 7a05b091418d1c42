package pipeline

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/ratelimit"
	"github.com/rpcgate/rpcgate/internal/relay"
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

// identify resolves the caller; when it cannot, it returns the answer and
// false.
func (t *Tenancy) identify(req tenant.Request, chain, keysMode, keySegment string, rec *relay.Record) (tenant.Identity, Output, bool) {
	id, err := t.Resolver.Resolve(req, chain, keysMode, keySegment)
	if err == nil {
		rec.Key, rec.Plan = id.Key, id.Plan
		return id, Output{}, true
	}
	status := tenant.HTTPStatus(err)
	code, reason := jsonrpc.CodeUnauthorized, "unknown"
	switch {
	case errors.Is(err, tenant.ErrKeyDisabled):
		reason = "disabled"
	case errors.Is(err, tenant.ErrKeyRequired):
		reason = "required"
	case errors.Is(err, tenant.ErrChainNotAllowed):
		code, reason = jsonrpc.CodeForbidden, "chain"
	}
	t.Metrics.Denied.WithLabelValues(chain, reason).Inc()
	out := Reject(rec, status, nil, code, err.Error())
	if status == 401 {
		out.Challenge = `Bearer realm="rpcgate"`
	}
	return id, out, false
}

// admit spends cost against the caller's rate limit and quotas; when a
// limit refuses, it returns the answer (429 with Retry-After, or 503 when
// a shared limit cannot be checked and fails closed) and false. rpcID is
// the raw client id for a single call, nil for a batch.
func (t *Tenancy) admit(ctx context.Context, id tenant.Identity, chain string, cost int, rpcID []byte, rec *relay.Record) (Output, bool) {
	plan := id.PlanCfg
	if plan == nil || cost <= 0 {
		return Output{}, true
	}
	if plan.Rate != nil {
		d, err := t.Limiter.Allow(ctx, id.LimitKey, cost, ratelimit.Rate{PerSecond: plan.Rate.PerSecond, Burst: plan.Rate.Burst})
		if out, ok := t.decided(d, err, id, chain, rpcID, rec, func() string {
			return "rate limit exceeded: plan " + id.Plan + " allows " + strconv.FormatFloat(plan.Rate.PerSecond, 'f', -1, 64) +
				" compute units/s (burst " + strconv.Itoa(plan.Rate.Burst) + "); this request costs " + strconv.Itoa(cost)
		}); !ok {
			return out, false
		}
	}
	if plan.Quota.Daily > 0 || plan.Quota.Monthly > 0 {
		d, err := t.Quotas.Spend(ctx, id.LimitKey, int64(cost), plan.Quota.Daily, plan.Quota.Monthly, t.Now())
		if out, ok := t.decided(d, err, id, chain, rpcID, rec, func() string {
			return d.Limit + " exceeded for plan " + id.Plan + "; it resets in " + d.RetryAfter.Round(time.Second).String()
		}); !ok {
			return out, false
		}
	}
	return Output{}, true
}

// decided turns a limiter decision into an answer when it refuses.
func (t *Tenancy) decided(d ratelimit.Decision, err error, id tenant.Identity, chain string, rpcID []byte, rec *relay.Record, msg func() string) (Output, bool) {
	if err != nil && errors.Is(err, ratelimit.ErrRedisDown) {
		switch {
		case d.Allowed:
			t.Metrics.LimiterError.WithLabelValues("open").Inc()
			return Output{}, true
		case d.Limit == "": // failing closed: no limit decided
			t.Metrics.LimiterError.WithLabelValues("closed").Inc()
			out := Reject(rec, 503, rpcID, jsonrpc.CodeOverloaded, "rate limits cannot be checked right now; try again shortly")
			out.RetryAfter = 1
			return out, false
		}
		// Failing open onto the local limiter, which refused: a normal 429.
		t.Metrics.LimiterError.WithLabelValues("open").Inc()
	}
	if d.Allowed {
		return Output{}, true
	}
	t.Metrics.Limited.WithLabelValues(chain, id.Plan, d.Limit).Inc()
	secs := int(math.Ceil(d.RetryAfter.Seconds()))
	data := `{"limit":` + strconv.Quote(d.Limit) + `,"retry_after_ms":` + strconv.FormatInt(d.RetryAfter.Milliseconds(), 10) + `}`
	if secs < 1 {
		secs = 1
	}
	rec.Outcome, rec.Code = relay.OutcomeRejected, jsonrpc.CodeLimited
	out := answer(rec, 429, jsonrpc.AppendError(nil, idOrNull(rpcID), jsonrpc.CodeLimited, msg(), []byte(data)))
	out.RetryAfter = secs
	return out, false
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
