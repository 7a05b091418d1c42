package orchestrator

import (
	"context"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/rpcgate/rpcgate/internal/joinproto"
)

// joinTimeout bounds the wait for an agent's first message.
const joinTimeout = 10 * time.Second

// serveJoin is one agent's connection: join (authenticated, verified,
// admitted), then heartbeats until it leaves or goes away.
func (o *Orchestrator) serveJoin(w http.ResponseWriter, r *http.Request) {
	// Agents are programs, not browsers: no Origin to check.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(joinproto.MaxMessageBytes)
	ctx := r.Context()

	rctx, cancel := context.WithTimeout(ctx, joinTimeout)
	_, data, err := c.Read(rctx)
	cancel()
	if err != nil {
		return
	}
	m, err := joinproto.Decode(data)
	if err != nil || m.Type != joinproto.TypeJoin {
		o.log.Warn("orchestrator: bad join message", "remote", r.RemoteAddr, "err", err)
		c.Close(websocket.StatusPolicyViolation, "expected a join message")
		return
	}
	refuseConn := func(ref *Refusal) {
		write(ctx, c, joinproto.Message{Type: joinproto.TypeRefused, Check: ref.Check, Reason: ref.Reason})
		c.Close(websocket.StatusPolicyViolation, "refused: "+ref.Check)
	}
	if !o.auth.allows(m.Chain, m.Name, m.Token) {
		refuseConn(o.refused(m.Chain, m.Name, ViaAgent, refuse(CheckToken, "no valid join token or chain secret (from %s)", r.RemoteAddr)))
		return
	}
	mem, ref := o.admit(ctx, m.Chain, m.Name, m.URL, m.WS, ViaAgent, *m.Facts)
	if ref != nil {
		refuseConn(ref)
		return
	}
	heartbeat := max(o.cfg.Lease.D()/4, 10*time.Millisecond)
	if !write(ctx, c, joinproto.Message{Type: joinproto.TypeAccepted, State: StateProbation, HeartbeatMs: heartbeat.Milliseconds()}) {
		o.disconnected(mem)
		return
	}
	// One writer: the notify queue. The reader below never writes.
	wctx, wcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-wctx.Done():
				return
			case msg := <-mem.notify:
				if !write(wctx, c, msg) {
					return
				}
				if msg.Type == joinproto.TypeLeft || msg.Type == joinproto.TypeRefused {
					c.Close(websocket.StatusNormalClosure, msg.Type)
					return
				}
			}
		}
	}()
	defer func() { wcancel(); <-done }()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			o.disconnected(mem)
			return
		}
		msg, err := joinproto.Decode(data)
		if err != nil {
			o.log.Warn("orchestrator: bad message from agent", "chain", mem.chain, "node", mem.name, "err", err)
			o.disconnected(mem)
			c.Close(websocket.StatusPolicyViolation, "bad message")
			return
		}
		switch msg.Type {
		case joinproto.TypeHeartbeat:
			o.heartbeat(mem, *msg.Facts)
			o.fleet.ObserveHead(mem.chain, mem.name, msg.Facts.Head)
		case joinproto.TypeLeave:
			o.leave(mem)
		}
	}
}

// heartbeat records what the agent reports.
func (o *Orchestrator) heartbeat(m *member, f joinproto.Facts) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m.facts, m.lastSeen = f, o.now()
}

// leave drains the node; its agent hears "left" once it is removed.
func (o *Orchestrator) leave(m *member) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if m.state == StateDraining || o.members[key(m.chain, m.name)] != m {
		return
	}
	o.log.Info("orchestrator: agent leaving; draining node", "chain", m.chain, "node", m.name)
	o.retireLocked(o.ctx, m, func() { send(m, joinproto.Message{Type: joinproto.TypeLeft}) })
}

func write(ctx context.Context, c *websocket.Conn, m joinproto.Message) bool {
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := c.Write(wctx, websocket.MessageText, joinproto.Encode(m))
	return err == nil
}
