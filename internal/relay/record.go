// Package relay holds the relay record: what one client request did, from
// the moment the gateway read it to the moment it answered. Every transport
// (HTTP today, WebSocket next) fills one per request through the pipeline;
// the attempt engine appends one Attempt per upstream try. The access log
// line and the metrics are written from it, and later the relay summary
// stream and consensus votes.
//
// A Record is pooled (Get/Put) and holds no maps: up to inlineAttempts
// attempts live in a fixed array, so a request that needs no retry
// allocates nothing for its record.
package relay

import (
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Outcome classifies how a request, or one attempt of it, ended.
type Outcome uint8

const (
	// OutcomeNone: not decided yet (a record still being filled).
	OutcomeNone Outcome = iota
	// OutcomeOK: a node answered with a result (or, for a notification,
	// accepted it).
	OutcomeOK
	// OutcomeRPCError: a node answered with a JSON-RPC error object (for
	// example execution reverted). The node worked; the call failed.
	OutcomeRPCError
	// OutcomeNotYet: a node answered "not yet" (header not found and
	// similar): another node may have the data.
	OutcomeNotYet
	// OutcomeTransport: the exchange with the node failed (connection,
	// HTTP status, malformed or oversized answer); Attempt.ErrKind says how.
	OutcomeTransport
	// OutcomeTimeout: the node did not answer within the attempt's or the
	// request's deadline.
	OutcomeTimeout
	// OutcomeCanceled: the attempt was abandoned because another attempt
	// won, or the client left.
	OutcomeCanceled
	// OutcomeDenied: refused by the gateway before any node saw it
	// (method policy, plan).
	OutcomeDenied
	// OutcomeRejected: refused by the gateway for the caller or its input
	// (key, rate limit, quota, malformed or oversized request).
	OutcomeRejected
	// OutcomeFailed: no node could answer; the gateway answered with an
	// error of its own (-32002, -32003, -32004, -32008).
	OutcomeFailed
	outcomeCount
)

var outcomeNames = [...]string{"none", "ok", "rpc_error", "not_yet", "transport", "timeout", "canceled", "denied", "rejected", "failed"}

func (o Outcome) String() string {
	if o < outcomeCount {
		return outcomeNames[o]
	}
	return "invalid"
}

// Attempt is one upstream try of a call (or of a batch part).
type Attempt struct {
	// Node is the node's name (never its URL).
	Node string
	// Start is when the attempt began waiting for the node's worker slot.
	Start time.Time
	// Latency is from Start to the answer, the failure or the abandon.
	Latency time.Duration
	// Outcome is how the attempt ended.
	Outcome Outcome
	// Code is the JSON-RPC error code for OutcomeRPCError and
	// OutcomeNotYet, else 0.
	Code int
	// ErrKind names the transport failure for OutcomeTransport and
	// OutcomeTimeout ("connection failed", "HTTP 502", ...); "" otherwise.
	ErrKind string
	// Bytes is the size of the node's answer body.
	Bytes int
	// Hedge marks an attempt started while an earlier one was still in
	// flight (hedging, quorum).
	Hedge bool
	// AnswerHash is xxhash64 of the canonical answer (result, or error
	// class) of a compared call's participant; 0 when not compared.
	AnswerHash uint64
	// Vote is how the participant's answer counted in a compared call.
	Vote Vote
	// Shadow marks a quarantined node's shadow attempt: compared, never
	// served.
	Shadow bool
}

// Vote is how one participant's answer counted in a compared call.
type Vote uint8

const (
	VoteNone    Vote = iota // not a compared call
	VoteAgree               // its answer was the majority's
	VoteDispute             // its answer differed from the majority's
	VoteAbstain             // an infrastructure failure: no vote
	VoteLate                // still out when the client was answered; judged afterwards (metrics, reputation)
	VoteCast                // an answer with no majority to judge it against
)

var voteNames = [...]string{"", "agree", "dispute", "abstain", "late", "cast"}

func (v Vote) String() string {
	if int(v) < len(voteNames) {
		return voteNames[v]
	}
	return "invalid"
}

// inlineAttempts is how many attempts a Record holds without allocating.
const inlineAttempts = 4

// Record is what one client request did. Fields are filled by the stage
// that knows them; zero values mean "did not get that far".
type Record struct {
	// ID is the request id (the client's sane X-Request-ID, or a new one).
	ID string
	// Start is when the gateway began serving the request.
	Start time.Time
	// Duration is the time from Start to the answer being handed to the
	// transport.
	Duration time.Duration
	// Transport is "http" or "ws".
	Transport string

	// Chain and Group name where the request was routed ("" before routing).
	Chain string
	Group string
	// Key is the API key's name ("" when anonymous); Plan its plan. The
	// key's secret is never stored here.
	Key  string
	Plan string

	// Method is the single call's method bounded for metric labels
	// (unknown names become "other"), or "batch".
	Method string
	// Methods is the method as sent, or a batch's first methods joined by
	// commas (bounded), for logs.
	Methods string
	// Batch is the number of calls in a batch, 0 for a single call.
	Batch int
	// ParamsHash is xxhash64 of the single call's raw params bytes (0 for a
	// batch or a call without params): equal params give equal hashes
	// across replicas, so summaries can group identical calls.
	ParamsHash uint64

	// Outcome is the final outcome of the request as the client saw it.
	Outcome Outcome
	// Status is the HTTP status sent (0 over WebSocket).
	Status int
	// Code is the JSON-RPC error code of a single call's error answer, or of
	// a gateway error for a batch; 0 for success.
	Code int
	// Bytes is the size of the answer body sent to the client.
	Bytes int
	// Cache says how the response cache took part in a single call: ""
	// (not consulted), "hit" (answered from the cache), "miss" (sent to a
	// node) or "coalesced" (answered by an identical concurrent call's
	// upstream answer).
	Cache string

	// Relaying (issue 9). Winner names the node whose answer was served
	// ("" when none). HedgesSent counts hedge attempts, HedgeWon says
	// the served answer came from one. Consensus is the result of a
	// compared call ("agreed", "disputed", "low_participants",
	// "no_answer"; "" when not compared) and PinnedBlock the block its
	// latest/safe/finalized parameter was pinned to (0: none).
	// Broadcast is set for a write sent to every node at once.
	Winner      string
	HedgesSent  int
	HedgeWon    bool
	Consensus   string
	PinnedBlock uint64
	Broadcast   bool

	attempts []Attempt
	inline   [inlineAttempts]Attempt
}

// Attempts lists the upstream tries in the order they started. The slice
// is valid until Put.
func (r *Record) Attempts() []Attempt { return r.attempts }

// AddAttempt appends one attempt. Not safe for concurrent use: the
// attempt engine serialises appends of concurrent attempts.
func (r *Record) AddAttempt(a Attempt) {
	if r.attempts == nil {
		r.attempts = r.inline[:0]
	}
	r.attempts = append(r.attempts, a)
}

// Nodes appends the distinct names of the nodes that were tried,
// comma-separated, to dst (for the log line).
func (r *Record) Nodes(dst []byte) []byte {
	start := len(dst)
	for i, a := range r.attempts {
		dup := false
		for _, b := range r.attempts[:i] {
			if b.Node == a.Node {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		if len(dst) > start {
			dst = append(dst, ',')
		}
		dst = append(dst, a.Node...)
	}
	return dst
}

// Answered names the node whose answer was returned: the last attempt
// with a node answer (ok, rpc error or not-yet), or "".
func (r *Record) Answered() string {
	for i := len(r.attempts) - 1; i >= 0; i-- {
		switch r.attempts[i].Outcome {
		case OutcomeOK, OutcomeRPCError, OutcomeNotYet:
			return r.attempts[i].Node
		}
	}
	return ""
}

// HashParams sets ParamsHash from a call's raw params.
func (r *Record) HashParams(params []byte) {
	if len(params) > 0 {
		r.ParamsHash = xxhash.Sum64(params)
	}
}

// Reset clears r for reuse.
func (r *Record) Reset() {
	inline := r.inline[:0]
	clear(r.inline[:])
	*r = Record{}
	r.attempts = inline
}

var pool = sync.Pool{New: func() any { return new(Record) }}

// Get returns an empty record from the pool.
func Get() *Record {
	r := pool.Get().(*Record)
	if r.attempts == nil {
		r.attempts = r.inline[:0]
	}
	return r
}

// Put returns r to the pool. r must not be used afterwards.
func Put(r *Record) {
	if cap(r.attempts) > 64 { // an unusually long retry chain: let it go
		return
	}
	r.Reset()
	pool.Put(r)
}
