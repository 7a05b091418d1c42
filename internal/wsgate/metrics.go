package wsgate

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the WebSocket collectors.
type Metrics struct {
	conns   *prometheus.GaugeVec
	subs    *prometheus.GaugeVec
	notes   *prometheus.CounterVec
	slow    *prometheus.CounterVec
	refused *prometheus.CounterVec
}

// NewMetrics registers the WebSocket collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		conns: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_ws_connections",
			Help: "Open WebSocket connections, by chain."}, []string{"chain"}),
		subs: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_ws_subscriptions",
			Help: "Active eth_subscribe subscriptions, by chain and type (newHeads, logs, newPendingTransactions)."}, []string{"chain", "type"}),
		notes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_ws_notifications_total",
			Help: "Subscription notifications queued to clients, by chain and type."}, []string{"chain", "type"}),
		slow: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_ws_slow_consumer_closes_total",
			Help: "WebSocket connections closed (code 1008) because more than websocket.send_buffer_bytes waited to be sent, by chain."}, []string{"chain"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_ws_refused_total",
			Help: "WebSocket upgrades refused by a connection limit or shutdown, by chain and reason (max_connections, max_connections_per_ip, max_connections_per_key, shutdown)."},
			[]string{"chain", "reason"}),
	}
	reg.MustRegister(m.conns, m.subs, m.notes, m.slow, m.refused)
	return m
}
