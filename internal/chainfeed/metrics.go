package chainfeed

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the feeds' collectors.
type Metrics struct {
	head         *prometheus.GaugeVec
	reorgs       *prometheus.CounterVec
	gaps         *prometheus.CounterVec
	resubscribes *prometheus.CounterVec
}

// NewMetrics registers the feeds' collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		head: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_feed_head",
			Help: "Number of the newest canonical block the chain feed (subscriptions and filters) has emitted, by chain."}, []string{"chain"}),
		reorgs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_feed_reorgs_total",
			Help: "Reorgs the chain feed walked back to their fork point, by chain."}, []string{"chain"}),
		gaps: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_feed_gap_blocks_total",
			Help: "Blocks the chain feed fetched to fill a jump of the best head by more than one, by chain."}, []string{"chain"}),
		resubscribes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_feed_upstream_resubscriptions_total",
			Help: "Times the chain feed re-opened a node's own WebSocket subscription after it failed, by chain, node and kind (newHeads, newPendingTransactions)."},
			[]string{"chain", "node", "kind"}),
	}
	reg.MustRegister(m.head, m.reorgs, m.gaps, m.resubscribes)
	return m
}
