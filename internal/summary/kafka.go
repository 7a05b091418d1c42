package summary

import (
	"context"
	"time"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Kafka produces to a topic with acks from all in-sync replicas; the key
// is the chain, so one chain's records stay in order in one partition.
// The topic is created by the broker's auto-creation if it is missing.
type Kafka struct {
	cl *kgo.Client
}

var _ Sink = (*Kafka)(nil)

// NewKafka builds the client; brokers are dialled on first use.
func NewKafka(c *config.SummarySink) (*Kafka, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Brokers...), kgo.DefaultProduceTopic(c.Topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.AllowAutoTopicCreation(), kgo.ClientID("rpcgate-summaries"),
		kgo.ProducerLinger(0), kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }))
	if err != nil {
		return nil, err
	}
	return &Kafka{cl: cl}, nil
}

// Publish produces msgs and waits for every ack (or ctx).
func (k *Kafka) Publish(ctx context.Context, msgs []Msg) error {
	rs := make([]*kgo.Record, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		rs[i] = &kgo.Record{Key: []byte(m.Chain), Value: m.Data, Timestamp: m.Time,
			Headers: []kgo.RecordHeader{{Key: "id", Value: []byte(m.ID)}, {Key: "class", Value: []byte(m.Class)}}}
	}
	return k.cl.ProduceSync(ctx, rs...).FirstErr()
}

// Close closes the client; records not acknowledged are on disk or will
// be re-sent.
func (k *Kafka) Close() error {
	k.cl.Close()
	return nil
}
