package orchestrator

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the orchestrator's collectors. Chain labels come from the
// configured chains only ("unknown" otherwise): a join names its chain,
// and a stranger must not be able to mint series.
type metrics struct {
	admitted *prometheus.CounterVec // chain
	refused  *prometheus.CounterVec // chain, check
	members  *prometheus.GaugeVec   // chain, state
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		admitted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_orchestrator_admitted_total",
			Help: "Nodes admitted (on probation) by the orchestrator, by chain."}, []string{"chain"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_orchestrator_refused_total",
			Help: "Joins refused and nodes retired after a failed check, by chain and check (token, chain_id, genesis, syncing, max_lag, fork, ...)."},
			[]string{"chain", "check"}),
		members: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_orchestrator_members",
			Help: "Nodes the orchestrator holds, by chain and state (probation, serving, draining)."}, []string{"chain", "state"}),
	}
	if reg != nil {
		reg.MustRegister(m.admitted, m.refused, m.members)
	}
	return m
}

// chainLabel is chain when the fleet has it, else "unknown".
func (o *Orchestrator) chainLabel(chain string) string {
	if slices.Contains(o.fleet.ChainNames(), chain) {
		return chain
	}
	return "unknown"
}

// countMembersLocked refreshes the members gauge. o.mu must be held.
func (o *Orchestrator) countMembersLocked() {
	o.metrics.members.Reset()
	for _, m := range o.members {
		o.metrics.members.WithLabelValues(m.chain, m.state).Inc()
	}
}
