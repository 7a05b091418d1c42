package execute

// Compared calls (consensus): one call sent to several nodes, their
// answers compared after canonicalisation, with latest/safe/finalized
// pinned to one block every participant has. The rules of comparison live
// in internal/consensus; this file runs the round.

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/rpcgate/rpcgate/internal/consensus"
	"github.com/rpcgate/rpcgate/internal/evm"
	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/relay"
	"github.com/rpcgate/rpcgate/internal/schedule"
)

// CodeDispute is the gateway's error for a compared call whose nodes did
// not agree (on_dispute: error), or that had too few healthy nodes
// (low_participants: error).
const CodeDispute = jsonrpc.CodeDispute

// participant is one node of a round and what it answered.
type participant struct {
	n      *node.Node
	shadow bool
	slot   int // index in the record
	a      relay.Attempt
	vote   consensus.Vote
	resp   *node.Response
	in     bool // answered (or failed)
}

type arrival struct {
	i    int
	resp *node.Response
	err  error
	end  time.Time
}

// round is one compared call.
type round struct {
	c      *fleet.Chain
	g      *fleet.Group
	p      consensus.Policy
	ps     []participant
	voters int // participants that are not shadows
	low    bool
	ch     chan arrival
	cancel context.CancelFunc
	left   int // arrivals still expected
}

// compared runs req under policy p. done is false when the call cannot
// be compared after all (pending, params not understood, no node): the
// caller then relays it as usual.
func (e *Executor) compared(ctx context.Context, c *fleet.Chain, g *fleet.Group, class schedule.Class, req *jsonrpc.Request,
	deadline time.Time, p consensus.Policy, rec *relay.Record) (Answer, bool) {
	tag, _ := consensus.TagOf(req.Method, req.Params)
	if tag == consensus.TagPending || tag == consensus.TagInvalid {
		return Answer{}, false
	}
	var t tried
	var nodes []*node.Node
	for len(nodes) < p.Participants {
		n, _ := e.pick(c, g, evm.BlockRef{Kind: evm.BlockAny}, &t)
		if n == nil {
			break
		}
		t.add(n)
		nodes = append(nodes, n)
	}
	if len(nodes) == 0 {
		return Answer{}, false
	}
	low := len(nodes) < p.Participants
	if low && p.LowError {
		g.CountRound("low_participants")
		if rec != nil {
			rec.Consensus = "low_participants"
		}
		return Answer{Err: &Error{Code: CodeDispute, HTTPStatus: http.StatusServiceUnavailable, RetryAfter: 1,
			Message: "only " + strconv.Itoa(len(nodes)) + " of " + strconv.Itoa(p.Participants) + " nodes are healthy to compare answers"},
			Outcome: relay.OutcomeFailed}, true
	}
	params, picked := req.Params, 0
	if tag != consensus.TagNone && tag != consensus.TagNumber {
		block := nodes[0].Head()
		for _, n := range nodes[1:] {
			block = min(block, n.Head())
		}
		if tag != consensus.TagLatest {
			b, ok := e.resolveTag(ctx, nodes[0], class, deadline, tag)
			if !ok || b > block {
				return Answer{}, false
			}
			block = b
		}
		var ok bool
		if params, ok = consensus.Pin(req.Method, req.Params, block); !ok {
			return Answer{}, false
		}
		if rec != nil {
			rec.PinnedBlock = block
		}
		picked = len(nodes)
		for _, s := range c.Shadows(g) {
			if s.Head() >= block {
				nodes = append(nodes, s)
			}
		}
	} else {
		picked = len(nodes)
		nodes = append(nodes, c.Shadows(g)...)
	}
	body := consensus.Request(nil, req.ID, req.Method, params)
	picks := picked

	bctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	r := &round{c: c, g: g, p: p, low: low, ch: make(chan arrival, len(nodes)), cancel: cancel, left: len(nodes)}
	r.ps = make([]participant, len(nodes))
	for i, n := range nodes {
		shadow := i >= picks // shadows were added after the picks
		r.ps[i] = participant{n: n, shadow: shadow, a: relay.Attempt{Node: n.Name(), Start: time.Now(), Hedge: i > 0, Shadow: shadow}}
		if !shadow {
			r.voters++
		}
		if rec != nil {
			rec.AddAttempt(r.ps[i].a)
			r.ps[i].slot = len(rec.Attempts()) - 1
		}
		go func(i int, n *node.Node) {
			call := node.Call{Class: class, Deadline: deadline, Timeout: n.AttemptTimeout(), Body: body}
			resp, err := n.Send(bctx, &call)
			r.ch <- arrival{i: i, resp: resp, err: err, end: time.Now()}
		}(i, n)
	}

	win := -1
	for r.left > 0 && win < 0 {
		select {
		case a := <-r.ch:
			r.arrive(a)
			win = r.decide(a.i)
		case <-ctx.Done():
			cancel()
			r.finishLater(rec, -1)
			return Answer{Err: gatewayError(ctx, ctx.Err(), false), Outcome: relay.OutcomeFailed}, true
		}
	}
	var ans Answer
	result := ""
	if win < 0 {
		win, ans, result = r.onDispute()
	}
	if win >= 0 {
		w := &r.ps[win]
		ans = Answer{Body: w.resp.Body, resp: w.resp, Outcome: relay.OutcomeOK, Node: w.n.Name(), Attempts: len(r.ps)}
		if w.vote.Kind == consensus.RPCError {
			ans.Outcome = relay.OutcomeRPCError
		}
		w.resp = nil // now the answer's
		if rec != nil {
			rec.Winner = w.n.Name()
		}
	}
	if rec != nil {
		rec.Consensus = result
	}
	r.finishLater(rec, win)
	if rec != nil && rec.Consensus == "" {
		rec.Consensus = "agreed"
	}
	return ans, true
}

// arrive judges one answer.
func (r *round) arrive(a arrival) {
	r.left--
	p := &r.ps[a.i]
	p.in = true
	p.a.Latency = a.end.Sub(p.a.Start)
	if a.err != nil {
		describe(&p.a, a.err)
		if p.a.Outcome == relay.OutcomeTimeout || p.a.Outcome == relay.OutcomeTransport {
			r.c.Reputation().Failed(p.n.Name(), p.a.Outcome == relay.OutcomeTimeout)
		}
		p.vote = consensus.Vote{}
		return
	}
	p.a.Bytes = len(a.resp.Body)
	p.vote = consensus.Judge(a.resp.Body, r.p.Ignore)
	p.a.AnswerHash = p.vote.Hash
	switch p.vote.Kind {
	case consensus.Result:
		p.a.Outcome = relay.OutcomeOK
	case consensus.RPCError:
		p.a.Outcome = relay.OutcomeRPCError
	default:
		p.a.Outcome, p.a.ErrKind = relay.OutcomeTransport, "no vote"
		r.c.Reputation().Failed(p.n.Name(), false)
		a.resp.Release()
		return
	}
	p.resp = a.resp
}

// decide returns the participant whose answer is served now, or -1.
func (r *round) decide(i int) int {
	p := &r.ps[i]
	if p.shadow || p.vote.Kind == consensus.NoVote {
		return -1
	}
	switch r.p.Mode {
	case consensus.Fastest:
		return i
	case consensus.Quorum:
		if r.count(p.vote.Hash) >= r.p.Agree {
			for k := range r.ps {
				if q := &r.ps[k]; q.in && !q.shadow && q.vote.Kind != consensus.NoVote && q.vote.Hash == p.vote.Hash {
					return k
				}
			}
		}
	}
	return -1
}

func (r *round) count(h uint64) int {
	n := 0
	for k := range r.ps {
		if q := &r.ps[k]; q.in && !q.shadow && q.vote.Kind != consensus.NoVote && q.vote.Hash == h {
			n++
		}
	}
	return n
}

// onDispute decides a quorum round that ended with every answer in and
// none reaching agree.
func (r *round) onDispute() (int, Answer, string) {
	best, bestN, votes := -1, 0, 0
	for k := range r.ps {
		q := &r.ps[k]
		if q.shadow || q.vote.Kind == consensus.NoVote {
			continue
		}
		votes++
		if n := r.count(q.vote.Hash); n > bestN {
			best, bestN = k, n
		}
	}
	if votes == 0 {
		return -1, Answer{Err: &Error{Code: CodeUpstream, HTTPStatus: http.StatusBadGateway,
			Message: "no node gave an answer to compare"}, Outcome: relay.OutcomeFailed}, "no_answer"
	}
	if r.low {
		return best, Answer{}, "low_participants"
	}
	switch r.p.OnDispute {
	case consensus.DisputeMostCommon:
		return best, Answer{}, "disputed"
	case consensus.DisputeHighestHead:
		hi := -1
		for k := range r.ps {
			q := &r.ps[k]
			if !q.shadow && q.vote.Kind != consensus.NoVote && (hi < 0 || q.n.Head() > r.ps[hi].n.Head()) {
				hi = k
			}
		}
		return hi, Answer{}, "disputed"
	}
	return -1, Answer{Err: r.disputeError(), Outcome: relay.OutcomeFailed}, "disputed"
}

// disputeError names the disagreement: which nodes gave which answer
// (by hash; node names, never URLs).
func (r *round) disputeError() *Error {
	type side struct {
		Answer string   `json:"answer"`
		Nodes  []string `json:"nodes"`
	}
	var sides []side
	idx := map[uint64]int{}
	for k := range r.ps {
		q := &r.ps[k]
		if q.shadow || q.vote.Kind == consensus.NoVote {
			continue
		}
		i, ok := idx[q.vote.Hash]
		if !ok {
			i = len(sides)
			idx[q.vote.Hash] = i
			label := strconv.FormatUint(q.vote.Hash, 16)
			if q.vote.Kind == consensus.RPCError {
				label = "error " + q.vote.Class
			}
			sides = append(sides, side{Answer: label})
		}
		sides[i].Nodes = append(sides[i].Nodes, q.n.Name())
	}
	data, _ := json.Marshal(map[string]any{"reason": "nodes disagree", "agree_needed": r.p.Agree, "answers": sides})
	return &Error{Code: CodeDispute, HTTPStatus: http.StatusBadGateway, Data: data,
		Message: "nodes disagree on the answer (no " + strconv.Itoa(r.p.Agree) + " gave the same); see data"}
}

// finishLater writes what is known to the record now and judges the
// round once every answer is in: at once when all are in, else in a
// goroutine that never touches the record (the request may be over).
func (r *round) finishLater(rec *relay.Record, win int) {
	if r.left == 0 {
		r.settle(rec)
		r.cancel()
		return
	}
	if rec != nil {
		for k := range r.ps {
			q := &r.ps[k]
			if !q.in {
				q.a.Vote = relay.VoteLate
			} else {
				q.a.Vote = r.provisional(q, win)
			}
			rec.Attempts()[q.slot] = q.a
		}
	}
	go func() {
		for r.left > 0 {
			r.arrive(<-r.ch)
		}
		r.settle(nil)
		r.cancel()
	}()
}

// provisional is an arrived answer's vote before the round is over.
func (r *round) provisional(q *participant, win int) relay.Vote {
	switch {
	case q.vote.Kind == consensus.NoVote:
		return relay.VoteAbstain
	case win >= 0 && q.vote.Hash == r.ps[win].vote.Hash:
		return relay.VoteAgree
	case win >= 0 && r.p.Mode == consensus.Quorum:
		return relay.VoteDispute
	}
	return relay.VoteCast
}

// settle judges every participant against the majority (the largest
// group of equal answers, if it reaches agree or is more than half): reputation, metrics and
// (when given) the record.
func (r *round) settle(rec *relay.Record) {
	maj, majN, tie, voted := uint64(0), 0, false, 0
	for k := range r.ps {
		q := &r.ps[k]
		if q.shadow || q.vote.Kind == consensus.NoVote {
			continue
		}
		voted++
		n := r.count(q.vote.Hash)
		switch {
		case n > majN:
			maj, majN, tie = q.vote.Hash, n, false
		case n == majN && q.vote.Hash != maj:
			tie = true
		}
	}
	// The majority that judges: agree equal answers, or more than half of
	// the answers given.
	has := !tie && (majN >= r.p.Agree || 2*majN > voted)
	disputed := false
	for k := range r.ps {
		q := &r.ps[k]
		q.resp.Release()
		q.resp = nil
		switch {
		case q.vote.Kind == consensus.NoVote:
			q.a.Vote = relay.VoteAbstain
		case !has:
			q.a.Vote = relay.VoteCast
			disputed = disputed || r.count(q.vote.Hash) < r.voters
		case q.shadow:
			r.c.ShadowResult(q.n.Name(), q.vote.Hash == maj)
			q.a.Vote = relay.VoteAgree
			if q.vote.Hash != maj {
				q.a.Vote = relay.VoteDispute
			}
		case q.vote.Hash == maj:
			q.a.Vote = relay.VoteAgree
			r.c.Reputation().Agreed(q.n.Name())
		default:
			q.a.Vote = relay.VoteDispute
			disputed = true
			r.c.LostDispute(q.n.Name())
		}
		if rec != nil {
			rec.Attempts()[q.slot] = q.a
		}
	}
	switch {
	case disputed:
		r.g.CountRound("disputed")
		if rec != nil && rec.Consensus == "" {
			rec.Consensus = "disputed"
		}
	case r.low:
		r.g.CountRound("low_participants")
	default:
		r.g.CountRound("agreed")
	}
}

// resolveTag asks n which block safe or finalized is now.
func (e *Executor) resolveTag(ctx context.Context, n *node.Node, class schedule.Class, deadline time.Time, tag consensus.Tag) (uint64, bool) {
	name := `"safe"`
	if tag == consensus.TagFinalized {
		name = `"finalized"`
	}
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":[` + name + `,false]}`)
	resp, err := n.Send(ctx, &node.Call{Class: class, Deadline: deadline, Timeout: n.AttemptTimeout(), Body: body})
	if err != nil {
		return 0, false
	}
	defer resp.Release()
	r, serr := jsonrpc.ScanResponse(resp.Body)
	if serr != nil || r.Err != nil {
		return 0, false
	}
	num, ok := jsonrpc.ObjectMember(r.Result, "number")
	if !ok {
		return 0, false
	}
	return evm.ParseQuantity(num)
}
