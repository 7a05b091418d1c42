package orchestrator

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/rpcgate/rpcgate/internal/ethstats"
	"github.com/rpcgate/rpcgate/internal/joinproto"
)

// EthstatsReport is the latest a node said over ethstats: pushed health,
// faster than polling, shown by the admin API and the status page.
type EthstatsReport struct {
	Client    string    `json:"client"` // e.g. Geth/v1.17.8-stable/linux-amd64/go1.26
	Net       string    `json:"net"`
	Head      uint64    `json:"head"`
	Hash      string    `json:"hash,omitempty"`
	Peers     int       `json:"peers"`
	Pending   int       `json:"pending"`
	Syncing   bool      `json:"syncing"`
	LatencyMs int       `json:"latency_ms"`
	Blocks    int64     `json:"blocks"` // block reports received
	Updated   time.Time `json:"updated"`
}

// primusInterval is how often the server sends the primus heartbeat.
const primusInterval = 10 * time.Second

// serveEthstats is one ethstats reporter: hello with the secret, answered
// by ready; then reports, node-ping/node-pong and the primus heartbeat.
// The node is matched by name to a node the chain knows; with the chain's
// url_template, a node no one knows joins through the same verification,
// and its connection is its lease.
func (o *Orchestrator) serveEthstats(w http.ResponseWriter, r *http.Request) {
	// Clients send their own Origin (geth: http://localhost).
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(ethstats.MaxMessageBytes)
	ctx := r.Context()
	rctx, cancel := context.WithTimeout(ctx, joinTimeout)
	_, data, err := c.Read(rctx)
	cancel()
	if err != nil {
		return
	}
	hello, err := ethstats.Decode(data)
	if err != nil || hello.Cmd != ethstats.Hello {
		o.log.Warn("orchestrator: ethstats client did not say hello", "remote", r.RemoteAddr, "err", err)
		c.Close(websocket.StatusPolicyViolation, "expected hello")
		return
	}
	name := hello.ID
	chain, tmpl, ref := o.matchEthstats(name, hello.Secret)
	if ref != nil {
		o.refused(chain, name, ViaEthstats, ref)
		c.Close(websocket.StatusPolicyViolation, "refused: "+ref.Check)
		return
	}
	report := &EthstatsReport{Client: hello.Info.Node, Net: hello.Info.Net, Updated: o.now().UTC()}
	var mem *member
	if tmpl != "" {
		url := strings.ReplaceAll(tmpl, "{name}", name)
		m, ref := o.admit(ctx, chain, name, url, "", ViaEthstats, joinproto.Facts{Client: hello.Info.Node})
		if ref != nil {
			c.Close(websocket.StatusPolicyViolation, "refused: "+ref.Check)
			return
		}
		mem = m
		o.mu.Lock()
		mem.stats = report
		o.mu.Unlock()
		defer o.disconnected(mem)
	} else {
		o.mu.Lock()
		if m := o.members[key(chain, name)]; m != nil {
			m.stats = report
		} else {
			o.reports[key(chain, name)] = report
		}
		o.mu.Unlock()
	}
	o.log.Info("orchestrator: ethstats client ready", "chain", chain, "node", name, "client", hello.Info.Node, "joined", tmpl != "")
	if c.Write(ctx, websocket.MessageText, ethstats.Ready) != nil {
		return
	}
	pctx, pcancel := context.WithCancel(ctx)
	defer pcancel()
	go func() { // the primus heartbeat; Conn allows concurrent writes
		t := time.NewTicker(primusInterval)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case now := <-t.C:
				ping := `"` + ethstats.PrimusPing + itoa(now.UnixMilli()) + `"`
				if c.Write(pctx, websocket.MessageText, []byte(ping)) != nil {
					return
				}
			}
		}
	}()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		m, err := ethstats.Decode(data)
		if err != nil {
			o.log.Debug("orchestrator: bad ethstats message", "chain", chain, "node", name, "err", err)
			continue
		}
		switch m.Cmd {
		case ethstats.PrimusPing:
			pong := `"` + strings.Replace(m.Primus, "ping", "pong", 1) + `"`
			if c.Write(ctx, websocket.MessageText, []byte(pong)) != nil {
				return
			}
			continue
		case ethstats.NodePing:
			if c.Write(ctx, websocket.MessageText, ethstats.Pong(m.ClientTime, o.now().UnixMilli())) != nil {
				return
			}
			continue
		}
		o.record(mem, report, m)
		if m.Cmd == ethstats.Block {
			o.fleet.ObserveHead(chain, name, m.Block.Number)
		}
	}
}

// record applies one report.
func (o *Orchestrator) record(mem *member, r *EthstatsReport, m ethstats.Message) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch m.Cmd {
	case ethstats.Block:
		r.Head, r.Hash = m.Block.Number, m.Block.Hash
		r.Blocks++
	case ethstats.Pending:
		r.Pending = m.Pending
	case ethstats.Stats:
		r.Peers, r.Syncing = m.Stats.Peers, m.Stats.Syncing
	case ethstats.Latency:
		r.LatencyMs = m.LatencyMs
	default:
		return
	}
	r.Updated = o.now().UTC()
	if mem != nil {
		mem.lastSeen = o.now()
		mem.facts.Head, mem.facts.Peers, mem.facts.Syncing = r.Head, uint64(r.Peers), r.Syncing
	}
}

// matchEthstats finds the chain of an ethstats reporter: one whose secret
// it knows and that has a node of that name, else one with a url_template
// (then tmpl is set: the node joins).
func (o *Orchestrator) matchEthstats(name, secret string) (chain, tmpl string, ref *Refusal) {
	var allowed []string
	for _, c := range o.fleet.ChainNames() {
		if o.auth.allows(c, name, secret) {
			allowed = append(allowed, c)
		}
	}
	if len(allowed) == 0 {
		return "", "", refuse(CheckToken, "wrong ethstats secret")
	}
	for _, c := range allowed {
		o.mu.Lock()
		_, member := o.members[key(c, name)]
		o.mu.Unlock()
		if member || o.fleet.Known(c, name) {
			return c, "", nil
		}
	}
	for _, c := range allowed {
		if oc := o.cfg.Chains[c]; oc != nil && oc.URLTemplate != "" {
			if !joinproto.ValidName(name) {
				return c, "", refuse(CheckName, "ethstats name %q cannot go into a URL template", name)
			}
			return c, oc.URLTemplate, nil
		}
	}
	return allowed[0], "", refuse(CheckName, "no node is named %q and no chain has a url_template to reach it", name)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
