package fleet

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rpcgate/rpcgate/internal/relay"
)

// Outcome classifies an answered call for metrics.
type Outcome uint8

const (
	OutcomeOK       Outcome = iota // the node answered with a result
	OutcomeRPCError                // the node answered with a JSON-RPC error
	OutcomeDenied                  // refused by the chain's method policy
	OutcomeFailed                  // no node could answer (gateway error)
	outcomes
)

var outcomeNames = [...]string{"ok", "rpc_error", "denied", "failed"}

func (o Outcome) String() string { return outcomeNames[o] }

// OutcomeOf maps a call's final relay outcome (as execute.Answer.Outcome
// gives it) to its metrics outcome.
func OutcomeOf(o relay.Outcome) Outcome {
	switch o {
	case relay.OutcomeOK:
		return OutcomeOK
	case relay.OutcomeRPCError, relay.OutcomeNotYet:
		return OutcomeRPCError
	case relay.OutcomeDenied:
		return OutcomeDenied
	}
	return OutcomeFailed
}

// Count records one answered call of method (already bounded by
// Chain.MetricMethod).
func (g *Group) Count(method string, o Outcome) {
	if v, ok := g.byMethod.Load(method); ok {
		v.(*[outcomes]prometheus.Counter)[o].Inc()
		return
	}
	var cs [outcomes]prometheus.Counter
	for i := range cs {
		cs[i] = g.metrics.Requests.WithLabelValues(g.chain, g.Name, method, Outcome(i).String())
	}
	v, _ := g.byMethod.LoadOrStore(method, &cs)
	v.(*[outcomes]prometheus.Counter)[o].Inc()
}

// CountRetry records one attempt beyond the first.
func (g *Group) CountRetry() { g.retries.Inc() }

// CountFallback records a request moved to the fallback group.
func (g *Group) CountFallback() {
	if g.fallbackC != nil {
		g.fallbackC.Inc()
	}
}
