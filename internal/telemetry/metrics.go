// Package telemetry holds rpcgate's Prometheus collectors and log setup.
// Collectors live on a Registry passed in by the caller, never the global
// default, so tests and replicas stay isolated.
package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rpcgate/rpcgate/internal/buildinfo"
)

// Metrics are the collectors the request path and node checkers update.
type Metrics struct {
	Registry *prometheus.Registry

	Requests     *prometheus.CounterVec   // chain, group, method, outcome
	Duration     *prometheus.HistogramVec // chain, method
	Retries      *prometheus.CounterVec   // chain, group
	Fallbacks    *prometheus.CounterVec   // chain, from, to
	BatchSize    *prometheus.HistogramVec
	NodeHead     *prometheus.GaugeVec   // chain, node
	NodeLag      *prometheus.GaugeVec   // chain, node
	NodeUp       *prometheus.GaugeVec   // chain, node
	NodeState    *prometheus.GaugeVec   // chain, node, state
	ChainHead    *prometheus.GaugeVec   // chain
	GroupHealthy *prometheus.GaugeVec   // chain, group
	HeadClamped  *prometheus.CounterVec // chain
	Hedges       *prometheus.CounterVec // chain, group, event (sent, won)
	Consensus    *prometheus.CounterVec // chain, group, result
	Disputes     *prometheus.CounterVec // chain, node
	Quarantines  *prometheus.CounterVec // chain, node
}

// NewMetrics registers every collector on a new registry.
func NewMetrics(version string) *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	m := &Metrics{
		Registry: r,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_requests_total",
			Help: "JSON-RPC calls answered, by chain, group, method (unknown methods collapse to \"other\") and outcome (ok, rpc_error, denied, failed)."}, []string{"chain", "group", "method", "outcome"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "rpcgate_request_duration_seconds",
			Help:    "Time to answer a client request, by chain and method (\"batch\" for batches; unknown methods collapse to \"other\").",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"chain", "method"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_retries_total",
			Help: "Upstream attempts beyond the first, by chain and group."}, []string{"chain", "group"}),
		Fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_group_fallbacks_total",
			Help: "Requests served by a fallback group because their group had no usable node."}, []string{"chain", "from", "to"}),
		BatchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "rpcgate_batch_size",
			Help: "Items per client batch.", Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}}, []string{"chain"}),
		NodeHead: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_node_head",
			Help: "Last block number the node reported."}, []string{"chain", "node"}),
		NodeLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_node_lag",
			Help: "Blocks the node is behind the chain's best head."}, []string{"chain", "node"}),
		NodeUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_node_up",
			Help: "1 when the node is selectable: healthy and within max_lag."}, []string{"chain", "node"}),
		NodeState: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_node_state",
			Help: "1 for the node's current health state."}, []string{"chain", "node", "state"}),
		ChainHead: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_chain_head",
			Help: "Best head among the chain's healthy nodes."}, []string{"chain"}),
		GroupHealthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_group_healthy_nodes",
			Help: "Selectable nodes in the group (0 means its calls go to the fallback or fail)."}, []string{"chain", "group"}),
		HeadClamped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_block_number_clamped_total",
			Help: "eth_blockNumber answers raised to the highest value already served, so it never goes backwards."}, []string{"chain"}),
		Hedges: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_hedges_total",
			Help: "Hedged reads: event sent (a second attempt started while the first was in flight) and won (the hedge's answer was served)."}, []string{"chain", "group", "event"}),
		Consensus: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_consensus_rounds_total",
			Help: "Compared calls by result: agreed, disputed, low_participants, no_answer."}, []string{"chain", "group", "result"}),
		Disputes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_node_disputes_total",
			Help: "Disputes the node lost: its answer differed from the majority's."}, []string{"chain", "node"}),
		Quarantines: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_node_quarantines_total",
			Help: "Times the node was put in quarantine."}, []string{"chain", "node"}),
	}
	for _, c := range []prometheus.Collector{m.Hedges, m.Consensus, m.Disputes, m.Quarantines, m.Requests, m.Duration, m.Retries, m.Fallbacks, m.BatchSize, m.NodeHead, m.NodeLag,
		m.NodeUp, m.NodeState, m.ChainHead, m.GroupHealthy, m.HeadClamped} {
		f(c)
	}
	// commit and date are link-time constants (internal/buildinfo), like
	// the version the caller passes (tests pass their own).
	bi := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_build_info",
		Help: "Always 1; the labels say which build runs."}, []string{"version", "commit", "date"})
	bi.WithLabelValues(version, buildinfo.Commit, buildinfo.Date).Set(1)
	f(bi)
	return m
}
