package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/pipeline"
	"github.com/rpcgate/rpcgate/internal/ratelimit"
	"github.com/rpcgate/rpcgate/internal/telemetry"
	"github.com/rpcgate/rpcgate/internal/tenant"
)

// tenancy is the gateway's tenant machinery: API keys (config and run
// time), limits, quotas and usage, in Redis when the registry uses Redis.
type tenancy struct {
	redis    *redis.Client // nil without Redis
	keys     tenant.KeyStore
	usage    tenant.Usage
	resolver *tenant.Resolver
	stage    *pipeline.Tenancy
	admin    *tenant.Admin
}

func newTenancy(cfg *config.Config, m *telemetry.Metrics, log *slog.Logger) (*tenancy, error) {
	t := &tenancy{}
	if cfg.Registry.Redis != "" {
		opts, err := redis.ParseURL(cfg.Registry.Redis)
		if err != nil {
			return nil, fmt.Errorf("registry.redis: %w", err)
		}
		t.redis = redis.NewClient(opts)
		t.keys = tenant.NewRedisKeys(t.redis, cfg.Registry.Prefix, log)
		t.usage = tenant.NewRedisUsage(t.redis, cfg.Registry.Prefix, log)
	} else {
		t.keys, t.usage = tenant.NewMemoryKeys(), tenant.NewMemoryUsage()
	}
	res, err := tenant.NewResolver(cfg, t.keys)
	if err != nil {
		t.close()
		return nil, err
	}
	t.resolver = res
	local := ratelimit.NewLocal(time.Now)
	var limiter ratelimit.Limiter = local
	quotas := ratelimit.NewLocalQuotas()
	if cfg.Tenancy.SharedLimits != nil && *cfg.Tenancy.SharedLimits && t.redis != nil {
		mode := ratelimit.FailOpen
		if cfg.Tenancy.OnRedisError == config.OnRedisErrorClosed {
			mode = ratelimit.FailClosed
		}
		limiter = ratelimit.NewRedis(t.redis, cfg.Registry.Prefix, mode, local)
		quotas = ratelimit.NewRedisQuotas(t.redis, cfg.Registry.Prefix, mode)
	}
	t.stage = &pipeline.Tenancy{Resolver: res, Limiter: limiter, Quotas: quotas, Usage: t.usage,
		Metrics: pipeline.NewTenancyMetrics(m.Registry), Now: time.Now}
	t.admin = tenant.NewAdmin(res, t.keys, t.usage, nil)
	return t, nil
}

// run follows run-time key changes until ctx ends.
func (t *tenancy) run(ctx context.Context) { t.resolver.Run(ctx) }

func (t *tenancy) close() {
	if t.usage != nil {
		t.usage.Close()
	}
	if t.redis != nil {
		t.redis.Close()
	}
}
