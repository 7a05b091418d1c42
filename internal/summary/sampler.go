package summary

import (
	"math/rand/v2"
	"time"

	"github.com/rpcgate/rpcgate/internal/evm"
	"github.com/rpcgate/rpcgate/internal/relay"
)

// Sampler decides which relays are streamed. Errors of any kind,
// broadcasts (writes), batches and slow calls are always kept, so sampling
// never biases error or latency reporting; only ordinary successful calls
// are sampled, at a per-chain rate.
type Sampler struct {
	// Rate is the share of ordinary successes kept, 0 to 1.
	Rate float64
	// Chains overrides Rate per chain.
	Chains map[string]float64
	// Slow: calls at least this long are always kept.
	Slow time.Duration
}

// Keep reports whether r is streamed.
func (s *Sampler) Keep(r *relay.Record) bool {
	if r.Outcome != relay.OutcomeOK || r.Batch > 0 || (s.Slow > 0 && r.Duration >= s.Slow) || evm.IsWrite(r.Methods) {
		return true
	}
	rate := s.Rate
	if c, ok := s.Chains[r.Chain]; ok {
		rate = c
	}
	return rate >= 1 || (rate > 0 && rand.Float64() < rate)
}
