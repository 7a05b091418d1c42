package cache

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the cache's collectors, shared by every chain.
type Metrics struct {
	Lookups       *prometheus.CounterVec // chain, class, tier, result
	Coalesced     *prometheus.CounterVec // chain
	Waiting       *prometheus.GaugeVec   // chain
	Bytes         *prometheus.GaugeVec   // chain
	Evictions     *prometheus.CounterVec // chain, cause
	ReorgEvicted  *prometheus.CounterVec // chain
	Finalized     *prometheus.GaugeVec   // chain
	Safe          *prometheus.GaugeVec   // chain
	LogsChunks    *prometheus.CounterVec // chain
	Reorgs        *prometheus.CounterVec // chain
	StoreRejected *prometheus.CounterVec // chain, reason
}

// NewMetrics registers the cache's collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Lookups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_cache_lookups_total",
			Help: "Cache lookups by chain, method class (block, tx, receipt, state, logs, static), tier (memory, redis) and result (hit, miss)."},
			[]string{"chain", "class", "tier", "result"}),
		Coalesced: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_cache_coalesced_total",
			Help: "Calls answered by an identical concurrent call's upstream answer instead of their own, by chain."},
			[]string{"chain"}),
		Waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_cache_waiting",
			Help: "Calls waiting for an identical concurrent call's upstream answer right now, by chain."}, []string{"chain"}),
		Bytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_cache_bytes",
			Help: "Bytes held by the memory tier, by chain."}, []string{"chain"}),
		Evictions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_cache_evictions_total",
			Help: "Entries the memory tier dropped, by chain and cause (size, expired)."}, []string{"chain", "cause"}),
		ReorgEvicted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_cache_reorg_evictions_total",
			Help: "Entries evicted because a reorg replaced the block they were about, by chain."}, []string{"chain"}),
		Reorgs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_chain_reorgs_total",
			Help: "Reorgs seen (a head whose hash or parent hash differs from the one known at that height), by chain."}, []string{"chain"}),
		Finalized: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_chain_finalized",
			Help: "The chain's finalized block as the gateway counts it (majority of healthy nodes, or finality_depth below the best head)."}, []string{"chain"}),
		Safe: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rpcgate_chain_safe",
			Help: "The chain's safe block (majority of healthy nodes), 0 when nodes report none."}, []string{"chain"}),
		LogsChunks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_logs_chunks_total",
			Help: "eth_getLogs chunk calls made by range splitting, by chain."}, []string{"chain"}),
		StoreRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_cache_not_stored_total",
			Help: "Answers to cacheable calls that were not stored, by chain and reason (error, null, unfinalized, tag)."}, []string{"chain", "reason"}),
	}
	reg.MustRegister(m.Lookups, m.Coalesced, m.Waiting, m.Bytes, m.Evictions, m.ReorgEvicted, m.Reorgs, m.Finalized, m.Safe, m.LogsChunks, m.StoreRejected)
	return m
}
