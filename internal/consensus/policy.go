package consensus

import (
	"path"
	"strings"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/evm"
)

// Mode is how a call's answers are compared.
type Mode uint8

const (
	Off Mode = iota
	Fastest
	Quorum
)

// Dispute is what quorum does when no answer reaches agree.
type Dispute uint8

const (
	DisputeError Dispute = iota
	DisputeMostCommon
	DisputeHighestHead
)

// Policy is one method's comparison policy.
type Policy struct {
	Mode         Mode
	Participants int
	Agree        int
	OnDispute    Dispute
	// LowError refuses a call with fewer healthy nodes than Participants
	// (otherwise the most common answer of those there are is taken).
	LowError bool
	Ignore   Paths
}

// DefaultIgnore are the ignore_fields every policy starts from: fields
// that clients compute differently for the same block.
var DefaultIgnore = map[string][]string{
	"eth_getBlockByNumber":  {"totalDifficulty"},
	"eth_getBlockByHash":    {"totalDifficulty"},
	"eth_getHeaderByNumber": {"totalDifficulty"},
}

// Set is a group's policies by method.
type Set struct {
	base    config.Consensus
	methods []string // patterns compared
	per     map[string]Policy
}

// Compile builds a group's policy set; nil config or mode off everywhere
// gives nil (no comparison).
func Compile(c *config.Consensus) *Set {
	if c == nil {
		return nil
	}
	s := &Set{base: *c, per: map[string]Policy{}}
	s.methods = c.Methods
	if len(s.methods) == 0 {
		s.methods = DefaultMethods()
	}
	any := c.Mode != config.ConsensusOff && c.Mode != ""
	for m, o := range c.PerMethod {
		if o == nil {
			continue
		}
		pc := o.Policy(c)
		s.per[m] = policyOf(pc, m)
		if pc.Mode != config.ConsensusOff {
			any = true
		}
	}
	if !any {
		return nil
	}
	return s
}

func policyOf(c *config.Consensus, method string) Policy {
	p := Policy{Participants: max(c.Participants, 1), Agree: max(c.Agree, 1), LowError: c.LowParticipants == config.LowError}
	switch c.Mode {
	case config.ConsensusFastest:
		p.Mode = Fastest
	case config.ConsensusQuorum:
		p.Mode = Quorum
	}
	switch c.OnDispute {
	case config.DisputeMostCommon:
		p.OnDispute = DisputeMostCommon
	case config.DisputeHighestHead:
		p.OnDispute = DisputeHighestHead
	}
	p.Ignore = ParsePaths(append(append([]string(nil), DefaultIgnore[method]...), c.IgnoreFields[method]...))
	return p
}

// For returns method's policy and whether the method is compared at all.
// Writes and methods whose answer is not a pure function of a block are
// never compared, whatever the config lists.
func (s *Set) For(method string) (Policy, bool) {
	if s == nil || Never(method) {
		return Policy{}, false
	}
	if p, ok := s.per[method]; ok {
		return p, p.Mode != Off && pure(method)
	}
	if !matches(s.methods, method) || !pure(method) {
		return Policy{}, false
	}
	p := policyOf(&s.base, method)
	return p, p.Mode != Off
}

func pure(method string) bool {
	_, a := blockArg[method]
	return a || hashKeyed[method]
}

func matches(pats []string, m string) bool {
	for _, p := range pats {
		if p == m {
			return true
		}
		if strings.ContainsAny(p, "*?[") {
			if ok, _ := path.Match(p, m); ok {
				return true
			}
		}
	}
	return false
}

// Never reports methods that are never compared: writes, the tip,
// filters, subscriptions, the pool and gas prices.
func Never(method string) bool {
	if evm.IsWrite(method) {
		return true
	}
	switch method {
	case "eth_blockNumber", "eth_gasPrice", "eth_maxPriorityFeePerGas", "eth_feeHistory", "eth_blobBaseFee",
		"eth_newFilter", "eth_newBlockFilter", "eth_newPendingTransactionFilter", "eth_getFilterChanges",
		"eth_getFilterLogs", "eth_uninstallFilter", "eth_subscribe", "eth_unsubscribe", "eth_syncing":
		return true
	}
	return strings.HasPrefix(method, "txpool_")
}
