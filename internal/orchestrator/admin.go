package orchestrator

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/rpcgate/rpcgate/internal/joinproto"
)

// MemberView is an admitted node as the admin API shows it.
type MemberView struct {
	Chain     string          `json:"chain"`
	Name      string          `json:"name"`
	Via       string          `json:"via"` // agent or ethstats
	State     string          `json:"state"`
	Passed    int             `json:"checks_passed"`
	Connected bool            `json:"connected"`
	Joined    time.Time       `json:"joined"`
	LastSeen  time.Time       `json:"last_seen"`
	Facts     joinproto.Facts `json:"facts"`
	LastCheck *Refusal        `json:"last_failed_check,omitempty"`
	Ethstats  *EthstatsReport `json:"ethstats,omitempty"`
}

// View is the orchestrator's state for GET /admin/orchestrator.
type View struct {
	Listen   string                     `json:"listen"`
	Members  []MemberView               `json:"members"`
	Reports  map[string]*EthstatsReport `json:"ethstats"` // chain/name → report, for nodes that did not join through the orchestrator
	Refusals []RefusalRecord            `json:"refusals"` // newest last
	Tokens   []Token                    `json:"tokens"`
}

// Snapshot returns the orchestrator's state.
func (o *Orchestrator) Snapshot() View {
	o.mu.Lock()
	defer o.mu.Unlock()
	v := View{Listen: o.Addr(), Members: []MemberView{}, Reports: map[string]*EthstatsReport{},
		Refusals: slices.Clone(o.refusals), Tokens: o.auth.list()}
	if v.Refusals == nil {
		v.Refusals = []RefusalRecord{}
	}
	for _, m := range o.sortedMembers() {
		mv := MemberView{Chain: m.chain, Name: m.name, Via: m.via, State: m.state, Passed: m.passed, Connected: m.connected,
			Joined: m.joined.UTC(), LastSeen: m.lastSeen.UTC(), Facts: m.facts, LastCheck: m.last}
		if m.stats != nil {
			r := *m.stats
			mv.Ethstats = &r
		}
		v.Members = append(v.Members, mv)
	}
	for k, r := range o.reports {
		c := *r
		v.Reports[k] = &c
	}
	slices.SortFunc(v.Tokens, func(a, b Token) int { return strings.Compare(a.ID, b.ID) })
	return v
}

// Report returns the latest ethstats report of chain/name, if any.
func (o *Orchestrator) Report(chain, name string) (EthstatsReport, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if m := o.members[key(chain, name)]; m != nil && m.stats != nil {
		return *m.stats, true
	}
	if r := o.reports[key(chain, name)]; r != nil {
		return *r, true
	}
	return EthstatsReport{}, false
}

// AdminHandler serves the orchestrator's admin routes (mounted behind the
// admin token at /admin/orchestrator).
func (o *Orchestrator) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/orchestrator", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, o.Snapshot())
	})
	mux.HandleFunc("POST /admin/orchestrator/tokens", o.createToken)
	mux.HandleFunc("DELETE /admin/orchestrator/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !o.auth.revoke(r.PathValue("id")) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such token"})
			return
		}
		o.log.Info("admin: join token revoked", "id", r.PathValue("id"))
		writeJSON(w, http.StatusOK, map[string]string{"revoked": r.PathValue("id")})
	})
	return mux
}

func (o *Orchestrator) createToken(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Chain string `json:"chain"`
		Name  string `json:"name"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be {\"chain\": ..., \"name\": ...}"})
		return
	}
	if !slices.Contains(o.fleet.ChainNames(), body.Chain) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown chain", "field": "chain"})
		return
	}
	if !joinproto.ValidName(body.Name) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "name must be 1 to 64 letters, digits, '-', '_' or '.'", "field": "name"})
		return
	}
	t, secret := o.auth.create(body.Chain, body.Name, o.now())
	o.log.Info("admin: join token created", "id", t.ID, "chain", t.Chain, "node", t.Name)
	writeJSON(w, http.StatusCreated, struct {
		Token
		Secret string `json:"token"`
	}{t, secret})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// NodeReport is what chain/name reported about itself: over ethstats
// (client, peers, pending) or, failing that, through its agent (client,
// peers).
func (o *Orchestrator) NodeReport(chain, name string) (client string, peers, pending *int, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.members[key(chain, name)]
	r := o.reports[key(chain, name)]
	if m != nil && m.stats != nil {
		r = m.stats
	}
	if r != nil {
		p, q := r.Peers, r.Pending
		return r.Client, &p, &q, true
	}
	if m != nil && m.via == ViaAgent {
		p := int(min(m.facts.Peers, 1<<31-1))
		return m.facts.Client, &p, nil, true
	}
	return "", nil, nil, false
}
