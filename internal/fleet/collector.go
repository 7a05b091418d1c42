package fleet

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rpcgate/rpcgate/internal/schedule"
)

// Collector exports per-node counters kept in the nodes' own atomics, read
// at scrape time so the request path pays nothing for them.
type Collector struct {
	chains func() []*Chain
}

// NewCollector reports the nodes of the chains returned by chains.
func NewCollector(chains func() []*Chain) *Collector { return &Collector{chains: chains} }

var (
	descNodeReqs = prometheus.NewDesc("rpcgate_node_requests_total",
		"Upstream HTTP requests sent to the node (client traffic, not probes).", []string{"chain", "node"}, nil)
	descNodeErrs = prometheus.NewDesc("rpcgate_node_errors_total",
		"Upstream requests and probes to the node that failed.", []string{"chain", "node"}, nil)
	descInFlight = prometheus.NewDesc("rpcgate_node_in_flight",
		"Requests being served by the node now.", []string{"chain", "node"}, nil)
	descLatency = prometheus.NewDesc("rpcgate_node_latency_ewma_seconds",
		"Moving average of the node's response time, used for selection.", []string{"chain", "node"}, nil)
	descLatencyQ = prometheus.NewDesc("rpcgate_node_latency_seconds",
		"Node response times: recent quantiles (last few minutes) with cumulative count and sum.", []string{"chain", "node"}, nil)
	descSlots = prometheus.NewDesc("rpcgate_node_slots_in_use",
		"Worker slots in use.", []string{"chain", "node"}, nil)
	descUtil = prometheus.NewDesc("rpcgate_node_slot_utilization",
		"Share of the node's worker slots in use (0-1): an autoscaling signal.", []string{"chain", "node"}, nil)
	descQueue = prometheus.NewDesc("rpcgate_queue_depth",
		"Requests waiting for a worker slot of the node, by priority class.", []string{"chain", "node", "class"}, nil)
	descDispatched = prometheus.NewDesc("rpcgate_queue_dispatched_total",
		"Worker slots granted, by priority class.", []string{"chain", "node", "class"}, nil)
	descWaitTime = prometheus.NewDesc("rpcgate_queue_wait_seconds_total",
		"Total time requests waited for a worker slot, by class (divide by rpcgate_queue_waited_total for the mean).", []string{"chain", "node", "class"}, nil)
	descWaited = prometheus.NewDesc("rpcgate_queue_waited_total",
		"Requests that had to wait for a worker slot, by class.", []string{"chain", "node", "class"}, nil)
	descGroupQueue = prometheus.NewDesc("rpcgate_group_queue_depth",
		"Requests waiting for a worker slot on the group's nodes, by priority class.", []string{"chain", "group", "class"}, nil)
	descGroupWaited = prometheus.NewDesc("rpcgate_group_queue_waited_total",
		"Requests that waited for a worker slot on the group's nodes, by class.", []string{"chain", "group", "class"}, nil)
	descGroupWait = prometheus.NewDesc("rpcgate_group_queue_wait_seconds_total",
		"Total time requests waited for a worker slot on the group's nodes, by class.", []string{"chain", "group", "class"}, nil)
	descScore = prometheus.NewDesc("rpcgate_node_reputation_score",
		"The node's reputation score on the chain (1 neutral, 0 worst, 2 best); it scales selection weight.", []string{"chain", "node"}, nil)
	descQuarantined = prometheus.NewDesc("rpcgate_node_quarantined",
		"1 while the node is quarantined (cool-off or shadow checks), else 0.", []string{"chain", "node"}, nil)
	descShed = prometheus.NewDesc("rpcgate_queue_shed_total",
		"Requests refused by the node's queue, by class and reason (full, deadline, canceled).", []string{"chain", "node", "class", "reason"}, nil)
)

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descNodeReqs, descNodeErrs, descInFlight, descLatency, descLatencyQ, descSlots,
		descUtil, descQueue, descDispatched, descWaitTime, descWaited, descShed, descGroupQueue, descGroupWaited, descGroupWait, descScore, descQuarantined} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, chain := range c.chains() {
		for gn, nodes := range chain.GroupNodes() {
			var depth [3]int
			var waited [3]uint64
			var wait [3]float64
			for _, n := range nodes {
				st := n.Slots().Stats()
				for cl, cs := range st.Classes {
					depth[cl] += cs.Waiting
					waited[cl] += cs.Waited
					wait[cl] += cs.WaitTime.Seconds()
				}
			}
			for cl := range depth {
				cn := schedule.Class(cl).String()
				ch <- prometheus.MustNewConstMetric(descGroupQueue, prometheus.GaugeValue, float64(depth[cl]), chain.Name, gn, cn)
				ch <- prometheus.MustNewConstMetric(descGroupWaited, prometheus.CounterValue, float64(waited[cl]), chain.Name, gn, cn)
				ch <- prometheus.MustNewConstMetric(descGroupWait, prometheus.CounterValue, wait[cl], chain.Name, gn, cn)
			}
		}
		for _, n := range chain.Nodes() {
			l := []string{chain.Name, n.Name()}
			ch <- prometheus.MustNewConstMetric(descNodeReqs, prometheus.CounterValue, float64(n.Requests()), l...)
			ch <- prometheus.MustNewConstMetric(descNodeErrs, prometheus.CounterValue, float64(n.Errors()), l...)
			ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(n.InFlight()), l...)
			ch <- prometheus.MustNewConstMetric(descLatency, prometheus.GaugeValue, n.Latency().Seconds(), l...)
			rv := chain.Reputation().View(n.Name())
			ch <- prometheus.MustNewConstMetric(descScore, prometheus.GaugeValue, rv.Score, l...)
			q := 0.0
			if !chain.Reputation().Serving(n.Name()) {
				q = 1
			}
			ch <- prometheus.MustNewConstMetric(descQuarantined, prometheus.GaugeValue, q, l...)
			count, sum := n.LatencyTotals()
			ch <- prometheus.MustNewConstSummary(descLatencyQ, count, sum.Seconds(), map[float64]float64{
				0.5: n.LatencyQuantile(0.5).Seconds(), 0.99: n.LatencyQuantile(0.99).Seconds()}, l...)
			st := n.Slots().Stats()
			ch <- prometheus.MustNewConstMetric(descSlots, prometheus.GaugeValue, float64(st.InUse), l...)
			ch <- prometheus.MustNewConstMetric(descUtil, prometheus.GaugeValue, float64(st.InUse)/float64(max(st.Capacity, 1)), l...)
			for cl, cs := range st.Classes {
				cn := schedule.Class(cl).String()
				ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(cs.Waiting), chain.Name, n.Name(), cn)
				ch <- prometheus.MustNewConstMetric(descDispatched, prometheus.CounterValue, float64(cs.Dispatched), chain.Name, n.Name(), cn)
				ch <- prometheus.MustNewConstMetric(descWaited, prometheus.CounterValue, float64(cs.Waited), chain.Name, n.Name(), cn)
				ch <- prometheus.MustNewConstMetric(descWaitTime, prometheus.CounterValue, cs.WaitTime.Seconds(), chain.Name, n.Name(), cn)
				ch <- prometheus.MustNewConstMetric(descShed, prometheus.CounterValue, float64(cs.Shed), chain.Name, n.Name(), cn, "full")
				ch <- prometheus.MustNewConstMetric(descShed, prometheus.CounterValue, float64(cs.Expired), chain.Name, n.Name(), cn, "deadline")
				ch <- prometheus.MustNewConstMetric(descShed, prometheus.CounterValue, float64(cs.Canceled), chain.Name, n.Name(), cn, "canceled")
			}
		}
	}
}
