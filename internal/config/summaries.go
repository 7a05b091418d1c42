package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Summaries configures the relay summary stream (internal/summary). It is
// on when at least one sink is configured.
type Summaries struct {
	// Sample is the share (0 to 1) of ordinary successful calls kept.
	// Errors, broadcasts (writes), batches and calls slower than Slow are
	// always kept. Default: 1 (all).
	Sample *float64 `yaml:"sample"`
	// Chains overrides Sample per chain (chain name → share). Default:
	// none.
	Chains map[string]float64 `yaml:"chains"`
	// Slow is the latency above which a call is always kept, whatever
	// Sample says. Default: 1s.
	Slow Duration `yaml:"slow"`
	// Queue is how many records each sink holds in memory; past it records
	// go to the disk buffer. Records lost on a crash (SIGKILL) are at most
	// Queue + Batch per sink. Default: 4096.
	Queue int `yaml:"queue"`
	// Batch is how many records a sink publishes before waiting for their
	// acknowledgements. Default: 256.
	Batch int `yaml:"batch"`
	// Buffer is the on-disk spill buffer (segment files, one directory per
	// sink).
	Buffer SummaryBuffer `yaml:"buffer"`
	// Sinks are where records go; any number at once. Default: none (off).
	Sinks []*SummarySink `yaml:"sinks"`
}

// SummaryBuffer is the on-disk spill buffer of the summary stream.
type SummaryBuffer struct {
	// Dir holds one subdirectory of segment files per sink; a relative
	// path is taken from the working directory. Default: summaries-buffer.
	Dir string `yaml:"dir"`
	// MaxBytes bounds each sink's buffer on disk; past it records are
	// dropped, counted (rpcgate_summaries_dropped_total) and logged.
	// Default: 1073741824 (1 GiB).
	MaxBytes int64 `yaml:"max_bytes"`
	// SegmentBytes is the size at which a segment file is closed and a new
	// one started. Default: 16777216 (16 MiB).
	SegmentBytes int64 `yaml:"segment_bytes"`
}

// SummarySink is one destination of the summary stream.
type SummarySink struct {
	// Type is "nats" (JetStream), "kafka" or "file". Required.
	Type string `yaml:"type"`
	// Name labels the sink's metrics and names its buffer directory.
	// Default: the type, numbered from the second sink of a type on
	// (nats, nats2).
	Name string `yaml:"name"`
	// URL is the NATS server URL (nats type). Default:
	// nats://127.0.0.1:4222.
	URL string `yaml:"url"`
	// Stream is the JetStream stream, created if missing (nats type).
	// Default: RPCGATE_RELAYS.
	Stream string `yaml:"stream"`
	// Subject is the subject prefix (nats type); a record is published on
	// <subject>.<chain>.<class>, class being read, write, debug or batch.
	// The stream is created on <subject>.>. Default: rpcgate.relays.
	Subject string `yaml:"subject"`
	// MaxAge, MaxBytes and MaxMsgs are the limits of a stream created by
	// rpcgate (nats type); an existing stream is left as it is.
	// Defaults: 168h, 0 (none), 0 (none).
	MaxAge   Duration `yaml:"max_age"`
	MaxBytes int64    `yaml:"max_bytes"`
	MaxMsgs  int64    `yaml:"max_msgs"`
	// Brokers are the Kafka seed brokers, host:port (kafka type). Required
	// for kafka.
	Brokers []string `yaml:"brokers"`
	// Topic is the Kafka topic (kafka type); records are keyed by chain.
	// Default: rpcgate-relays.
	Topic string `yaml:"topic"`
	// Path is the JSON-lines file (file type). Required for file.
	Path string `yaml:"path"`
	// RotateBytes is the size at which the file is renamed to <path>.1
	// (older ones shift to .2 …) and a new one started (file type).
	// Default: 104857600 (100 MiB).
	RotateBytes int64 `yaml:"rotate_bytes"`
	// Keep is how many rotated files are kept (file type). Default: 5.
	Keep int `yaml:"keep"`
	// Acks is how JetStream acknowledgements are asked for (nats type):
	// "batch" asks for one on the last message of each batch (JetStream
	// stores a connection's messages in order, so it covers the batch);
	// "each" asks for one per message, all awaited. Default: batch.
	Acks string `yaml:"acks"`
	// AckTimeout is how long a batch waits for the broker's
	// acknowledgements before it goes to the disk buffer. Default: 5s.
	AckTimeout Duration `yaml:"ack_timeout"`
}

// Summary defaults.
const (
	DefaultSummarySlow         = time.Second
	DefaultSummaryQueue        = 4096
	DefaultSummaryBatch        = 256
	DefaultSummaryBufferDir    = "summaries-buffer"
	DefaultSummaryBufferBytes  = 1 << 30
	DefaultSummarySegmentBytes = 16 << 20
	DefaultSummaryNATSURL      = "nats://127.0.0.1:4222"
	DefaultSummaryStream       = "RPCGATE_RELAYS"
	DefaultSummarySubject      = "rpcgate.relays"
	DefaultSummaryMaxAge       = 7 * 24 * time.Hour
	DefaultSummaryTopic        = "rpcgate-relays"
	DefaultSummaryRotateBytes  = 100 << 20
	DefaultSummaryKeep         = 5
	DefaultSummaryAckTimeout   = 5 * time.Second
)

// Values of SummarySink.Acks.
const (
	AcksBatch = "batch"
	AcksEach  = "each"
)

// Values of SummarySink.Type.
const (
	SinkNATS  = "nats"
	SinkKafka = "kafka"
	SinkFile  = "file"
)

// Enabled reports whether any sink is configured.
func (s *Summaries) Enabled() bool { return len(s.Sinks) > 0 }

func (s *Summaries) applyDefaults() {
	if !s.Enabled() {
		return
	}
	if s.Sample == nil {
		one := 1.0
		s.Sample = &one
	}
	setDefault(&s.Slow, Duration(DefaultSummarySlow))
	setDefault(&s.Queue, DefaultSummaryQueue)
	setDefault(&s.Batch, DefaultSummaryBatch)
	setDefault(&s.Buffer.Dir, DefaultSummaryBufferDir)
	setDefault(&s.Buffer.MaxBytes, DefaultSummaryBufferBytes)
	setDefault(&s.Buffer.SegmentBytes, DefaultSummarySegmentBytes)
	seen := map[string]int{}
	for _, k := range s.Sinks {
		if k == nil {
			continue
		}
		if k.Name == "" && k.Type != "" {
			seen[k.Type]++
			k.Name = k.Type
			if n := seen[k.Type]; n > 1 {
				k.Name = fmt.Sprintf("%s%d", k.Type, n)
			}
		}
		setDefault(&k.AckTimeout, Duration(DefaultSummaryAckTimeout))
		switch k.Type {
		case SinkNATS:
			setDefault(&k.URL, DefaultSummaryNATSURL)
			setDefault(&k.Stream, DefaultSummaryStream)
			setDefault(&k.Subject, DefaultSummarySubject)
			setDefault(&k.MaxAge, Duration(DefaultSummaryMaxAge))
			setDefault(&k.Acks, AcksBatch)
		case SinkKafka:
			setDefault(&k.Topic, DefaultSummaryTopic)
		case SinkFile:
			setDefault(&k.RotateBytes, DefaultSummaryRotateBytes)
			setDefault(&k.Keep, DefaultSummaryKeep)
		}
	}
}

// subjectToken is what a NATS subject part may hold.
func subjectOK(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\r\n*>") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return false
	}
	return true
}

func (v *checker) summaries(s Summaries, chains []string) {
	if !s.Enabled() {
		return
	}
	if s.Sample != nil && !(*s.Sample >= 0 && *s.Sample <= 1) {
		v.at("summaries.sample", fmt.Sprintf("sample must be between 0 and 1, got %v", *s.Sample),
			"write sample: 1 to keep every call, or 0.01 to keep 1% of ordinary successes")
	}
	for name, r := range s.Chains {
		p := "summaries.chains." + name
		if !slices.Contains(chains, name) {
			v.atKey(p, fmt.Sprintf("summaries.chains names chain %q, which is not configured", name), "use a name from chains:")
		}
		if !(r >= 0 && r <= 1) {
			v.at(p, fmt.Sprintf("sample share must be between 0 and 1, got %v", r), "write a share such as 0.01")
		}
	}
	v.positive("summaries.slow", s.Slow)
	v.atLeast("summaries.queue", int64(s.Queue), 1)
	v.atLeast("summaries.batch", int64(s.Batch), 1)
	v.atLeast("summaries.buffer.max_bytes", s.Buffer.MaxBytes, 1)
	v.atLeast("summaries.buffer.segment_bytes", s.Buffer.SegmentBytes, 4096)
	names := map[string]bool{}
	for i, k := range s.Sinks {
		p := fmt.Sprintf("summaries.sinks[%d]", i)
		if k == nil {
			v.at(p, "summaries sink is empty", "write e.g. {type: file, path: ./relays.jsonl}")
			continue
		}
		v.oneOf(p+".type", "summaries sink", k.Type, []string{SinkNATS, SinkKafka, SinkFile})
		if k.Name != "" {
			if !nameRE.MatchString(k.Name) {
				v.at(p+".name", fmt.Sprintf("sink name %q is not a valid name", k.Name), nameHint)
			}
			if names[k.Name] {
				v.at(p+".name", fmt.Sprintf("sink name %q is used twice", k.Name), "give each sink its own name:")
			}
			names[k.Name] = true
		}
		v.positive(p+".ack_timeout", k.AckTimeout)
		switch k.Type {
		case SinkNATS:
			if !strings.HasPrefix(k.URL, "nats://") && !strings.HasPrefix(k.URL, "tls://") {
				v.at(p+".url", fmt.Sprintf("url %q is not a nats:// or tls:// URL", redact(k.URL)), `write url: "nats://127.0.0.1:4222"`)
			}
			if !subjectOK(k.Subject) {
				v.at(p+".subject", fmt.Sprintf("subject %q is not a NATS subject prefix", k.Subject), `write subject: "rpcgate.relays" (no spaces, * or >)`)
			}
			v.oneOf(p+".acks", "summaries sink", k.Acks, []string{AcksBatch, AcksEach})
			if strings.ContainsAny(k.Stream, " .*>/\\") {
				v.at(p+".stream", fmt.Sprintf("stream %q is not a JetStream stream name", k.Stream), "use letters, digits, - and _")
			}
		case SinkKafka:
			if len(k.Brokers) == 0 {
				v.at(p+".brokers", "kafka sink has no brokers", `write brokers: ["127.0.0.1:9092"]`)
			}
		case SinkFile:
			if k.Path == "" {
				v.at(p+".path", "file sink has no path", "write path: ./relays.jsonl")
			}
			v.atLeast(p+".rotate_bytes", k.RotateBytes, 1024)
			v.atLeast(p+".keep", int64(k.Keep), 0)
		}
	}
}
