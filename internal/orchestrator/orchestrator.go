// Package orchestrator lets nodes join the fleet by themselves. An agent
// beside a node (`rpcgate agent`) joins over a WebSocket at /join; a node's
// own ethstats reporter connects at /api. The orchestrator authenticates
// the join (per-node token or the chain's shared secret), verifies the node
// by dialling it (chain id, genesis, not syncing, head within max_lag, the
// block 16 below the head equal to the fleet's), admits it on probation
// through the gateway's admission path (so the registry carries it to every
// replica), promotes it after N passed checks, and holds a lease: a node
// whose agent is gone longer than the lease is drained, then removed.
package orchestrator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/joinproto"
	"github.com/rpcgate/rpcgate/internal/nodespec"
)

// Member states.
const (
	StateProbation = "probation" // admitted at weight 1 until it passes ProbationChecks
	StateServing   = "serving"   // at its full weight
	StateDraining  = "draining"  // leaving (its agent asked, or its lease ran out)
)

// Ways a node joins.
const (
	ViaAgent    = "agent"
	ViaEthstats = "ethstats"
)

// probationWeight is a node's weight until it leaves probation.
const probationWeight = 1

// maxRefusals is how many recent refusals the admin API shows.
const maxRefusals = 200

// maxConns bounds the open /join and /api connections, authenticated or
// not (a connection that has not said who it is holds a slot for up to
// joinTimeout).
const maxConns = 20000

// Options build an Orchestrator.
type Options struct {
	Config config.Orchestrator // defaults applied
	Fleet  Fleet
	Log    *slog.Logger
	// ProbeTimeout bounds each verification call. Default: 2s.
	ProbeTimeout time.Duration
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Registry receives the orchestrator's metrics (nil: not exported).
	Registry prometheus.Registerer
}

// Orchestrator is the join listener and the members it admitted.
type Orchestrator struct {
	cfg     config.Orchestrator
	fleet   Fleet
	log     *slog.Logger
	now     func() time.Time
	auth    *auth
	verify  *verifier
	metrics *metrics

	mu       sync.Mutex
	members  map[string]*member // chain/name
	refusals []RefusalRecord
	reports  map[string]*EthstatsReport // chain/name → last ethstats report of a node not joined through it
	gen      uint64                     // connection generations, so a stale connection cannot touch a newer one's member
	conns    atomic.Int64               // open /join and /api connections

	ln     net.Listener
	srv    *http.Server
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// member is one node the orchestrator admitted.
type member struct {
	chain, name string
	spec        nodespec.Spec
	via         string
	state       string
	passed      int
	connected   bool
	gen         uint64
	joined      time.Time
	lastSeen    time.Time
	goneSince   time.Time
	lastCheck   time.Time
	checking    bool
	facts       joinproto.Facts
	stats       *EthstatsReport
	last        *Refusal // the last failed check, if any
	notify      chan joinproto.Message
}

// RefusalRecord is one refused join (or a retirement after a failed check).
type RefusalRecord struct {
	At    time.Time `json:"at"`
	Chain string    `json:"chain"`
	Name  string    `json:"name"`
	Via   string    `json:"via"`
	Refusal
}

// New builds the orchestrator; nothing listens until Start.
func New(o Options) *Orchestrator {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = 2 * time.Second
	}
	secrets, genesis := map[string]string{}, map[string]string{}
	for name, oc := range o.Config.Chains {
		if oc != nil {
			secrets[name], genesis[name] = oc.JoinSecret, oc.Genesis
		}
	}
	x := &Orchestrator{cfg: o.Config, fleet: o.Fleet, log: o.Log, now: o.Now,
		verify: newVerifier(o.ProbeTimeout, genesis), members: map[string]*member{}, reports: map[string]*EthstatsReport{},
		metrics: newMetrics(o.Registry)}
	x.auth = newAuth(secretsFor(o.Config, secrets))
	return x
}

// secretsFor is every chain's shared secret: its own, else the global one.
// Chains the fleet has but the config does not list take the global one
// when asked (see chainSecret).
func secretsFor(cfg config.Orchestrator, own map[string]string) map[string]string {
	out := map[string]string{}
	for c, s := range own {
		out[c] = s
	}
	out[""] = cfg.JoinSecret
	return out
}

// chainSecret is the shared secret of chain.
func (o *Orchestrator) chainSecret(chain string) string {
	if s := o.auth.secrets[chain]; s != "" {
		return s
	}
	return o.auth.secrets[""]
}

// Start binds the listener (TLS when configured) and starts the lease and
// check loop. It returns once the listener is bound.
func (o *Orchestrator) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", o.cfg.Listen)
	if err != nil {
		return fmt.Errorf("orchestrator listen %s: %w", o.cfg.Listen, err)
	}
	if o.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.cfg.TLSCert, o.cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("orchestrator TLS: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	o.ln = ln
	o.ctx, o.cancel = context.WithCancel(ctx)
	mux := http.NewServeMux()
	mux.HandleFunc("/join", o.limit(o.serveJoin))
	mux.HandleFunc("/api", o.limit(o.serveEthstats))
	o.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10,
		BaseContext: func(net.Listener) context.Context { return o.ctx },
		ErrorLog:    slog.NewLogLogger(o.log.Handler(), slog.LevelDebug)}
	o.wg.Add(2)
	go func() {
		defer o.wg.Done()
		if err := o.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.log.Error("orchestrator listener failed", "err", err)
		}
	}()
	go func() {
		defer o.wg.Done()
		o.loop(o.ctx)
	}()
	o.log.Info("orchestrator listening", "listen", ln.Addr().String(), "tls", o.cfg.TLSCert != "")
	return nil
}

// limit answers 503 once maxConns connections are open.
func (o *Orchestrator) limit(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if o.conns.Add(1) > maxConns {
			o.conns.Add(-1)
			http.Error(w, "too many connections", http.StatusServiceUnavailable)
			return
		}
		defer o.conns.Add(-1)
		h(w, r)
	}
}

// Addr is the bound listener's address ("" before Start).
func (o *Orchestrator) Addr() string {
	if o.ln == nil {
		return ""
	}
	return o.ln.Addr().String()
}

// Stop closes the listener and every connection and waits for the
// orchestrator's goroutines. Admitted nodes stay in the registry: their
// agents reconnect to the next orchestrator.
func (o *Orchestrator) Stop() {
	if o.cancel == nil {
		return
	}
	o.cancel()
	o.srv.Close()
	o.wg.Wait()
}

// loop enforces leases and runs the periodic checks.
func (o *Orchestrator) loop(ctx context.Context) {
	tick := min(o.cfg.CheckInterval.D(), o.cfg.Lease.D()) / 4
	tick = max(tick, 10*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		o.sweep(ctx)
	}
}

// sweep starts a retirement for every member whose lease ran out and a
// check for every connected member that is due one.
func (o *Orchestrator) sweep(ctx context.Context) {
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range o.members {
		switch {
		case m.state == StateDraining:
		case !m.connected && now.Sub(m.goneSince) >= o.cfg.Lease.D():
			o.log.Info("orchestrator: lease expired; draining node", "chain", m.chain, "node", m.name,
				"gone_for", now.Sub(m.goneSince).Round(time.Millisecond).String())
			o.retireLocked(ctx, m, nil)
		case m.connected && !m.checking && now.Sub(m.lastCheck) >= o.cfg.CheckInterval.D():
			m.checking = true
			o.wg.Add(1)
			go func() {
				defer o.wg.Done()
				o.check(ctx, m)
			}()
		}
	}
}

// check verifies an admitted member again and promotes it after enough
// passes. Identity failures (chain id, genesis, fork) retire it; a node
// that lags or syncs only restarts its probation (the fleet's own health
// tracking keeps a lagging serving node out of selection).
func (o *Orchestrator) check(ctx context.Context, m *member) {
	info, ok := o.fleet.Chain(m.chain)
	var ref *Refusal
	if !ok {
		ref = refuse(CheckChain, "chain %s is no longer configured", m.chain)
	} else {
		vctx, cancel := context.WithTimeout(ctx, 4*o.verify.client.Timeout)
		info.References = slices.DeleteFunc(info.References, func(s nodespec.Spec) bool { return s.Name == m.name })
		ref = o.verify.verify(vctx, m.chain, info, m.spec)
		cancel()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	m.lastCheck = o.now()
	if o.members[key(m.chain, m.name)] != m || m.state == StateDraining {
		m.checking = false
		return
	}
	switch {
	case ref == nil:
		m.last = nil
		if m.state != StateProbation {
			m.checking = false
			return
		}
		m.passed++
		if m.passed < o.cfg.ProbationChecks {
			m.checking = false
			return
		}
		// Promote outside the lock (the registry write may take a round
		// trip); checking stays set, so no second check races it.
		spec := m.spec.Clone()
		spec.Weight = o.cfg.Weight
		o.mu.Unlock()
		err := o.fleet.Admit(ctx, m.chain, spec)
		o.mu.Lock()
		m.checking = false
		if err != nil {
			o.log.Warn("orchestrator: cannot promote node", "chain", m.chain, "node", m.name, "err", err)
			return
		}
		if o.members[key(m.chain, m.name)] != m || m.state != StateProbation {
			return // left or retired meanwhile
		}
		m.spec, m.state = spec, StateServing
		o.countMembersLocked()
		o.log.Info("orchestrator: node out of probation", "chain", m.chain, "node", m.name, "weight", spec.Weight)
		send(m, joinproto.Message{Type: joinproto.TypeState, State: StateServing})
	case ref.Check == CheckChainID || ref.Check == CheckGenesis || ref.Check == CheckFork || ref.Check == CheckChain:
		m.checking = false
		o.refusedLocked(m.chain, m.name, m.via, ref)
		send(m, joinproto.Message{Type: joinproto.TypeRefused, Check: ref.Check, Reason: ref.Reason})
		o.retireLocked(ctx, m, nil)
	default:
		m.checking = false
		m.last = ref
		if m.state == StateProbation {
			m.passed = 0
		}
	}
}

// retireLocked drains and removes m in the background; done (if set) is
// called once it is gone. o.mu must be held.
func (o *Orchestrator) retireLocked(ctx context.Context, m *member, done func()) {
	m.state = StateDraining
	o.countMembersLocked()
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		if err := o.fleet.Retire(ctx, m.chain, m.name); err != nil && ctx.Err() == nil {
			o.log.Warn("orchestrator: cannot retire node", "chain", m.chain, "node", m.name, "err", err)
		}
		o.mu.Lock()
		if o.members[key(m.chain, m.name)] == m {
			delete(o.members, key(m.chain, m.name))
			o.countMembersLocked()
		}
		o.mu.Unlock()
		o.log.Info("orchestrator: node removed", "chain", m.chain, "node", m.name)
		if done != nil {
			done()
		}
	}()
}

// admit authenticates nothing (the caller did), then guards, verifies and
// admits a node on probation. It returns the member, or why not.
func (o *Orchestrator) admit(ctx context.Context, chain, name, url, ws, via string, facts joinproto.Facts) (*member, *Refusal) {
	info, ok := o.fleet.Chain(chain)
	if !ok {
		return nil, o.refused(chain, name, via, refuse(CheckChain, "chain %q is not configured", chain))
	}
	spec := nodespec.Spec{Name: name, URL: url, WS: ws, Weight: probationWeight}
	spec.ApplyDefaults()
	if ps := spec.Validate(); len(ps) > 0 {
		return nil, o.refused(chain, name, via, refuse(CheckTarget, "%s", ps[0].String()))
	}
	if err := o.fleet.Guard(ctx, chain, spec); err != nil {
		check := CheckTarget
		var nt *NameTakenError
		if errors.As(err, &nt) {
			check = CheckName
		}
		return nil, o.refused(chain, name, via, refuse(check, "%v", err))
	}
	vctx, cancel := context.WithTimeout(ctx, 4*o.verify.client.Timeout)
	info.References = slices.DeleteFunc(info.References, func(s nodespec.Spec) bool { return s.Name == name })
	ref := o.verify.verify(vctx, chain, info, spec)
	cancel()
	if ref != nil {
		return nil, o.refused(chain, name, via, ref)
	}
	if err := o.fleet.Admit(ctx, chain, spec); err != nil {
		check := CheckTarget
		var nt *NameTakenError
		if errors.As(err, &nt) {
			check = CheckName
		}
		return nil, o.refused(chain, name, via, refuse(check, "%v", err))
	}
	now := o.now()
	m := &member{chain: chain, name: name, spec: spec, via: via, state: StateProbation, connected: true,
		joined: now, lastSeen: now, lastCheck: now, facts: facts}
	if via == ViaAgent {
		m.notify = make(chan joinproto.Message, 8)
	}
	o.mu.Lock()
	o.gen++
	m.gen = o.gen
	if old := o.members[key(chain, name)]; old != nil {
		old.connected = false // a newer connection took over
	}
	o.members[key(chain, name)] = m
	o.countMembersLocked()
	o.mu.Unlock()
	o.metrics.admitted.WithLabelValues(chain).Inc()
	o.log.Info("orchestrator: node admitted on probation", "chain", chain, "node", name, "via", via)
	return m, nil
}

// NameTakenError is what Fleet.Guard and Fleet.Admit return for a name
// that a config or admin node holds.
type NameTakenError struct{ Chain, Name, Source string }

func (e *NameTakenError) Error() string {
	return fmt.Sprintf("chain %s already has a node %q from the %s; pick another name", e.Chain, e.Name, e.Source)
}

func (o *Orchestrator) refused(chain, name, via string, r *Refusal) *Refusal {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refusedLocked(chain, name, via, r)
	return r
}

func (o *Orchestrator) refusedLocked(chain, name, via string, r *Refusal) {
	o.log.Warn("orchestrator: node refused", "chain", chain, "node", name, "via", via, "check", r.Check, "reason", r.Reason)
	o.metrics.refused.WithLabelValues(o.chainLabel(chain), r.Check).Inc()
	o.refusals = append(o.refusals, RefusalRecord{At: o.now().UTC(), Chain: chain, Name: name, Via: via, Refusal: *r})
	if len(o.refusals) > maxRefusals {
		o.refusals = slices.Delete(o.refusals, 0, len(o.refusals)-maxRefusals)
	}
}

// disconnected starts m's lease clock, unless a newer connection owns it.
func (o *Orchestrator) disconnected(m *member) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.members[key(m.chain, m.name)] == m && m.connected {
		m.connected, m.goneSince = false, o.now()
		o.log.Info("orchestrator: agent gone; lease running", "chain", m.chain, "node", m.name, "lease", o.cfg.Lease.D().String())
	}
}

// members lists the members sorted by chain and name.
func (o *Orchestrator) sortedMembers() []*member {
	keys := slices.Sorted(maps.Keys(o.members))
	out := make([]*member, 0, len(keys))
	for _, k := range keys {
		out = append(out, o.members[k])
	}
	return out
}

func key(chain, name string) string { return chain + "/" + name }

// send queues a message for m's agent without blocking (a slow agent
// misses state updates, never the orchestrator's lock).
func send(m *member, msg joinproto.Message) {
	if m.notify == nil {
		return
	}
	select {
	case m.notify <- msg:
	default:
	}
}
