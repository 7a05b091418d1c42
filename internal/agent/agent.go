// Package agent is `rpcgate agent`: it runs beside a node, reads the
// node's facts from its local RPC, joins the orchestrator over a WebSocket
// with a token, sends heartbeats, reconnects with backoff, and on shutdown
// asks for a drain and leaves once the node is idle.
package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/rpcgate/rpcgate/internal/joinproto"
)

// Options configure an agent.
type Options struct {
	Node         string // the node's local RPC URL, for reading facts
	Advertise    string // where relayers reach the node over HTTP
	AdvertiseWS  string // and over WebSocket (optional)
	Chain, Name  string
	Orchestrator string // ws:// or wss:// URL; "/join" is added when it has no path
	Secret       string // per-node token or the chain's shared secret
	// CAFile is a PEM bundle trusted for a wss:// orchestrator, on top of
	// the system's roots (for a private CA or a self-signed listener).
	CAFile string
	Log    *slog.Logger
	// BackoffMin and BackoffMax bound the reconnect delay. Defaults: 500ms, 30s.
	BackoffMin, BackoffMax time.Duration
	// DrainTimeout bounds the wait for "left" on shutdown. Default: 30s.
	DrainTimeout time.Duration
}

// ErrRefused wraps a refusal (the agent logs it and tries again with
// backoff: a lagging or syncing node may pass later).
var ErrRefused = errors.New("join refused")

// Agent is one running agent.
type Agent struct {
	o    Options
	node *nodeClient
	url  string
	dial *websocket.DialOptions
}

// New checks the options and builds an agent.
func New(o Options) (*Agent, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = 500 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 30 * time.Second
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.Advertise == "" {
		o.Advertise = o.Node
	}
	switch {
	case o.Node == "":
		return nil, errors.New("--node is required (the node's local RPC URL)")
	case o.Chain == "":
		return nil, errors.New("--chain is required")
	case !joinproto.ValidName(o.Name):
		return nil, errors.New("--name must be 1 to 64 letters, digits, '-', '_' or '.'")
	case o.Secret == "":
		return nil, errors.New("--secret is required (a join token or the chain's secret)")
	}
	u, err := url.Parse(o.Orchestrator)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return nil, errors.New("--orchestrator must be a ws:// or wss:// URL")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/join"
	}
	a := &Agent{o: o, url: u.String(), node: &nodeClient{url: o.Node, client: &http.Client{Timeout: 5 * time.Second}}}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca %s holds no PEM certificate", o.CAFile)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		a.dial = &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}}
	}
	return a, nil
}

// Run joins and stays joined until ctx ends; then it leaves (drain first)
// and returns. It reconnects with backoff after any failure or refusal.
func (a *Agent) Run(ctx context.Context) error {
	backoff := a.o.BackoffMin
	for {
		joined, err := a.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if joined {
			backoff = a.o.BackoffMin
		}
		a.o.Log.Warn("agent: not joined; retrying", "err", err, "in", backoff.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, a.o.BackoffMax)
	}
}

// session is one connection: join, heartbeats, and leave when ctx ends.
// joined says whether the orchestrator accepted the node.
func (a *Agent) session(ctx context.Context) (joined bool, err error) {
	f, err := a.node.facts(ctx)
	if err != nil {
		return false, fmt.Errorf("reading the node: %w", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, _, err := websocket.Dial(dctx, a.url, a.dial)
	cancel()
	if err != nil {
		return false, fmt.Errorf("dialling the orchestrator: %w", err)
	}
	defer c.CloseNow()
	c.SetReadLimit(joinproto.MaxMessageBytes)
	// The connection outlives ctx just long enough to leave.
	conn, stop := context.WithCancel(context.Background())
	defer stop()
	join := joinproto.Message{Type: joinproto.TypeJoin, Token: a.o.Secret, Chain: a.o.Chain, Name: a.o.Name,
		URL: a.o.Advertise, WS: a.o.AdvertiseWS, Facts: &f}
	if err := c.Write(ctx, websocket.MessageText, joinproto.Encode(join)); err != nil {
		return false, err
	}
	reply, err := read(ctx, c)
	if err != nil {
		return false, err
	}
	switch reply.Type {
	case joinproto.TypeRefused:
		a.o.Log.Error("agent: join refused", "check", reply.Check, "reason", reply.Reason)
		return false, fmt.Errorf("%w: %s: %s", ErrRefused, reply.Check, reply.Reason)
	case joinproto.TypeAccepted:
	default:
		return false, fmt.Errorf("unexpected %q", reply.Type)
	}
	a.o.Log.Info("agent: joined", "chain", a.o.Chain, "node", a.o.Name, "state", reply.State)
	msgs := make(chan joinproto.Message)
	readErr := make(chan error, 1)
	go func() {
		for {
			m, err := read(conn, c)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case msgs <- m:
			case <-conn.Done():
				return
			}
		}
	}()
	beat := time.Duration(max(reply.HeartbeatMs, 10)) * time.Millisecond
	t := time.NewTicker(beat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return true, a.leave(c, msgs, readErr)
		case err := <-readErr:
			return true, fmt.Errorf("connection lost: %w", err)
		case m := <-msgs:
			switch m.Type {
			case joinproto.TypeState:
				a.o.Log.Info("agent: state changed", "state", m.State)
			case joinproto.TypeRefused:
				a.o.Log.Error("agent: removed after a failed check", "check", m.Check, "reason", m.Reason)
				return true, fmt.Errorf("%w: %s: %s", ErrRefused, m.Check, m.Reason)
			}
		case <-t.C:
			fctx, cancel := context.WithTimeout(ctx, beat)
			f, err := a.node.facts(fctx)
			cancel()
			if err != nil {
				a.o.Log.Warn("agent: node not answering; heartbeat skipped", "err", err)
				continue
			}
			if err := c.Write(ctx, websocket.MessageText, joinproto.Encode(joinproto.Message{Type: joinproto.TypeHeartbeat, Facts: &f})); err != nil {
				return true, fmt.Errorf("connection lost: %w", err)
			}
		}
	}
}

// leave asks for a drain and waits for "left" (or the connection to end,
// or DrainTimeout).
func (a *Agent) leave(c *websocket.Conn, msgs <-chan joinproto.Message, readErr <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.o.DrainTimeout)
	defer cancel()
	a.o.Log.Info("agent: leaving; waiting for the drain", "chain", a.o.Chain, "node", a.o.Name)
	if err := c.Write(ctx, websocket.MessageText, joinproto.Encode(joinproto.Message{Type: joinproto.TypeLeave})); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return errors.New("no drain confirmation before the drain timeout")
		case <-readErr:
			return nil
		case m := <-msgs:
			if m.Type == joinproto.TypeLeft {
				a.o.Log.Info("agent: left")
				c.Close(websocket.StatusNormalClosure, "left")
				return nil
			}
		}
	}
}

func read(ctx context.Context, c *websocket.Conn) (joinproto.Message, error) {
	_, data, err := c.Read(ctx)
	if err != nil {
		return joinproto.Message{}, err
	}
	return joinproto.Decode(data)
}

// String names the agent for logs (never the secret).
func (a *Agent) String() string {
	return fmt.Sprintf("agent %s/%s → %s", a.o.Chain, a.o.Name, strings.TrimSuffix(a.url, "/join"))
}
