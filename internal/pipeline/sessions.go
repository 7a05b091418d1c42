package pipeline

import (
	"github.com/rpcgate/rpcgate/internal/execute"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/session"
	"github.com/rpcgate/rpcgate/internal/tenant"
)

// The session hook (internal/session): a selection constraint applied
// before the attempt engine runs, and a note after a write succeeds. It
// touches single calls only; batch parts choose nodes as before.

// sessionHeader names the header a client may send to pick its session.
const sessionHeader = "X-Session-Id"

// sessionKey is the caller's session key, or "" when sessions are off.
func (p *Pipeline) sessionKey(creds tenant.Request, id tenant.Identity) string {
	if p.sessions == nil || creds == nil {
		return ""
	}
	return session.KeyOf(creds.Header(sessionHeader), id.Key, id.ClientIP)
}

// sessionGroup is g narrowed to the caller's nodes for this call (g
// itself when there is no constraint).
func (p *Pipeline) sessionGroup(caller Caller, g *fleet.Group, req *jsonrpc.Request) *fleet.Group {
	if p.sessions == nil || caller.Session == "" {
		return g
	}
	if nodes := p.sessions.Nodes(caller.Chain.Name+"/"+g.Name, caller.Session, req.Method, req.Params, g.Nodes); nodes != nil {
		return g.Restrict(nodes)
	}
	return g
}

// sessionWrote notes a write that a node accepted.
func (p *Pipeline) sessionWrote(caller Caller, req *jsonrpc.Request, ans *execute.Answer) {
	if p.sessions != nil && caller.Session != "" && ans.Err == nil && ans.Outcome == relay.OutcomeOK && caller.Chain.IsWrite(req.Method) {
		p.sessions.Wrote(caller.Session, ans.Node)
	}
}
