package summary

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the stream's counters, by sink.
type Metrics struct {
	Produced     *prometheus.CounterVec
	Acked        *prometheus.CounterVec
	Dropped      *prometheus.CounterVec
	BrokerErrors *prometheus.CounterVec
	Corrupt      *prometheus.CounterVec
	SampledOut   prometheus.Counter
}

// NewMetrics registers the stream's metrics on reg. Gauges that are read
// from the sinks (buffered, oldest unacked) are registered by the stream.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Produced: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_summaries_produced_total",
			Help: "Relay summary records handed to a sink (after sampling)."}, []string{"sink"}),
		Acked: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_summaries_acked_total",
			Help: "Relay summary records the sink's broker (or file) acknowledged; re-sends count again."}, []string{"sink"}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_summaries_dropped_total",
			Help: "Relay summary records dropped because the disk buffer was full or could not be written."}, []string{"sink"}),
		BrokerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_summaries_broker_errors_total",
			Help: "Batches the sink's broker failed or did not acknowledge in time."}, []string{"sink"}),
		Corrupt: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rpcgate_summaries_corrupt_total",
			Help: "Damaged stretches of the disk buffer skipped (checksum mismatch or torn frame)."}, []string{"sink"}),
		SampledOut: prometheus.NewCounter(prometheus.CounterOpts{Name: "rpcgate_summaries_sampled_out_total",
			Help: "Relays not streamed because sampling left them out."}),
	}
	reg.MustRegister(m.Produced, m.Acked, m.Dropped, m.BrokerErrors, m.Corrupt, m.SampledOut)
	return m
}

// gauges reads the buffered and oldest-unacked gauges from the sinks at
// scrape time.
type gauges struct {
	s        *Stream
	bytes    *prometheus.Desc
	records  *prometheus.Desc
	oldest   *prometheus.Desc
	inMemory *prometheus.Desc
}

func newGauges(s *Stream) *gauges {
	return &gauges{s: s,
		bytes: prometheus.NewDesc("rpcgate_summaries_buffered_bytes",
			"Bytes of the sink's disk buffer (segment files).", []string{"sink"}, nil),
		records: prometheus.NewDesc("rpcgate_summaries_buffered_records",
			"Records in the sink's disk buffer waiting to be sent.", []string{"sink"}, nil),
		oldest: prometheus.NewDesc("rpcgate_summaries_oldest_unacked_seconds",
			"Age of the oldest record the sink has not had acknowledged (0 when none).", []string{"sink"}, nil),
		inMemory: prometheus.NewDesc("rpcgate_summaries_queued_records",
			"Records in the sink's in-memory queue.", []string{"sink"}, nil),
	}
}

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.bytes
	ch <- g.records
	ch <- g.oldest
	ch <- g.inMemory
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	now := g.s.now()
	for _, w := range g.s.workers {
		b, r := w.spool.size()
		ch <- prometheus.MustNewConstMetric(g.bytes, prometheus.GaugeValue, float64(b), w.name)
		ch <- prometheus.MustNewConstMetric(g.records, prometheus.GaugeValue, float64(r), w.name)
		ch <- prometheus.MustNewConstMetric(g.oldest, prometheus.GaugeValue, w.oldestAge(now).Seconds(), w.name)
		ch <- prometheus.MustNewConstMetric(g.inMemory, prometheus.GaugeValue, float64(len(w.q)), w.name)
	}
}
