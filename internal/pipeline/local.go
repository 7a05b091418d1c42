package pipeline

import (
	"context"

	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

// Local answers methods the gateway serves itself instead of forwarding
// them to one node: the gateway-held filters (internal/filters). They are
// intercepted here, after the method policy and the caller's limits, so
// that every transport serves them alike and none reaches a single node.
type Local interface {
	// Handles reports whether method is served locally.
	Handles(method string) bool
	// Serve answers req for caller: a JSON result, or a JSON-RPC error.
	Serve(ctx context.Context, caller Caller, req *jsonrpc.Request) (result []byte, err *jsonrpc.Error)
}

// SetLocal installs the locally served methods (nil for none).
func (p *Pipeline) SetLocal(l Local) {
	if l == nil {
		p.local.Store(nil)
		return
	}
	p.local.Store(&l)
}

func (p *Pipeline) localFor(method string) Local {
	if l := p.local.Load(); l != nil && (*l).Handles(method) {
		return *l
	}
	return nil
}

// serveLocal answers a locally served call.
func serveLocal(ctx context.Context, l Local, caller Caller, req *jsonrpc.Request) []byte {
	res, err := l.Serve(ctx, caller, req)
	if err != nil {
		return jsonrpc.AppendError(nil, idOrNull(req.ID), err.Code, err.Message, nil)
	}
	return jsonrpc.AppendResult(nil, idOrNull(req.ID), res)
}

// ChargeNotifications accounts n subscription notifications sent to
// caller at its plan's notification_cost (nothing when the cost is 0).
func (p *Pipeline) ChargeNotifications(ctx context.Context, caller Caller, n int) {
	plan := caller.ID.PlanCfg
	if n <= 0 || plan == nil || plan.NotificationCost <= 0 {
		return
	}
	p.tenancy.account(ctx, caller.ID, "eth_subscription", plan.NotificationCost*n)
}
