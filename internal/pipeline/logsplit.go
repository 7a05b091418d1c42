package pipeline

import (
	"context"

	"github.com/rpcgate/rpcgate/internal/cache"
	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/schedule"
)

// splitLogs answers an eth_getLogs whose range is wider than the group's
// max_logs_range by running chunks concurrently; ok is false when the call
// is not split.
func (p *Pipeline) splitLogs(ctx context.Context, cc *cache.Chain, c *fleet.Chain, g *fleet.Group, class schedule.Class, req *jsonrpc.Request, rec *relay.Record) (execute.Answer, bool) {
	return execute.Answer{}, false
}
