package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Relaying settings: hedged reads, answer comparison (consensus) and node
// reputation. Their meaning is documented on each field; docs/relayer.md
// has the longer story.

// Hedge configures hedged reads for a group.
type Hedge struct {
	// Off disables hedging for the group (reads go to one node at a time,
	// as with FirstGood). Default: false.
	Off bool `yaml:"off"`
	// After is a fixed hedge delay. Default: 0, meaning adaptive: the
	// group's recent p95 latency for the method's class (light reads vs
	// heavy ones such as eth_call, eth_getLogs, debug_* and trace_*),
	// kept within [20ms, 2s].
	After Duration `yaml:"after"`
	// Max is how many hedges (extra attempts) one read may have in
	// flight beside the first, 1 to 4. Default: 1.
	Max int `yaml:"max"`
}

// Consensus modes and dispute behaviours.
const (
	ConsensusOff     = "off"
	ConsensusFastest = "fastest"
	ConsensusQuorum  = "quorum"

	DisputeError       = "error"
	DisputeMostCommon  = "most_common"
	DisputeHighestHead = "highest_head"

	LowAcceptMostCommon = "accept_most_common"
	LowError            = "error"
)

// Consensus is how several nodes' answers are compared.
type Consensus struct {
	// Mode is "off" (one node answers), "fastest" (participants nodes are
	// asked, the first valid answer is returned and the others are
	// compared with it in the background) or "quorum" (the answer is
	// returned once agree participants gave the same one). Default: off.
	Mode string `yaml:"mode"`
	// Participants is how many nodes are asked (k), 2 to 10. Default: 3.
	Participants int `yaml:"participants"`
	// Agree is how many equal answers make a quorum, 1 to participants.
	// Default: 2.
	Agree int `yaml:"agree"`
	// OnDispute is what quorum does when no answer reaches agree: "error"
	// (a JSON-RPC error -32010 whose data names the disagreement),
	// "most_common" or "highest_head". Default: error.
	OnDispute string `yaml:"on_dispute"`
	// LowParticipants is what happens when fewer than participants nodes
	// are healthy: "accept_most_common" (compare what there is) or
	// "error" (-32010). Default: accept_most_common.
	LowParticipants string `yaml:"low_participants"`
	// Methods lists the methods compared, replacing the default list of
	// methods whose answer is a pure function of the block (see
	// docs/relayer.md). Methods outside it are relayed as without
	// consensus. Writes, eth_blockNumber, filters, subscriptions, txpool
	// and gas-price methods are never compared. Default: the default list.
	Methods []string `yaml:"methods"`
	// IgnoreFields maps a method to dot paths into its result that are
	// left out of the comparison ("*" matches any key or index). Merged
	// with the documented defaults, never replacing them. Default: none.
	IgnoreFields map[string][]string `yaml:"ignore_fields"`
	// PerMethod overrides the policy per method (exact name); what an
	// entry does not set is inherited. Default: none.
	PerMethod map[string]*ConsensusOverride `yaml:"per_method"`
}

// ConsensusOverride is one method's consensus policy (see Consensus for
// each field's meaning); unset fields take the group's values.
type ConsensusOverride struct {
	Mode            string              `yaml:"mode"`
	Participants    int                 `yaml:"participants"`
	Agree           int                 `yaml:"agree"`
	OnDispute       string              `yaml:"on_dispute"`
	LowParticipants string              `yaml:"low_participants"`
	IgnoreFields    map[string][]string `yaml:"ignore_fields"`
}

// Policy is the override as a full policy over base.
func (o *ConsensusOverride) Policy(base *Consensus) *Consensus {
	c := *base
	c.PerMethod, c.Methods = nil, nil
	if o.Mode != "" {
		c.Mode = o.Mode
	}
	if o.Participants != 0 {
		c.Participants = o.Participants
	}
	if o.Agree != 0 {
		c.Agree = o.Agree
	} else {
		c.Agree = min(c.Agree, c.Participants)
	}
	if o.OnDispute != "" {
		c.OnDispute = o.OnDispute
	}
	if o.LowParticipants != "" {
		c.LowParticipants = o.LowParticipants
	}
	if len(o.IgnoreFields) > 0 {
		c.IgnoreFields = map[string][]string{}
		for k, v := range base.IgnoreFields {
			c.IgnoreFields[k] = v
		}
		for k, v := range o.IgnoreFields {
			c.IgnoreFields[k] = append(append([]string(nil), c.IgnoreFields[k]...), v...)
		}
	}
	return &c
}

// Reputation tunes each node's score on the chain and its quarantine.
type Reputation struct {
	// QuarantineAfter is how many lost disputes in quick succession put
	// a node in quarantine: the score threshold is what that many lost
	// disputes reach from neutral. 1 to 100. Default: 3.
	QuarantineAfter int `yaml:"quarantine_after"`
	// CoolOff is how long a quarantined node gets no traffic at all; it
	// doubles each time the node is quarantined again (up to 16×). After
	// it the node is checked with shadow traffic (compared, never served)
	// before it serves again. Default: 30s.
	CoolOff Duration `yaml:"cool_off"`
	// ShadowChecks is how many shadow answers in a row must agree with
	// the majority before a quarantined node serves again. Default: 3.
	ShadowChecks int `yaml:"shadow_checks"`
	// HalfLife is how fast a score returns to neutral. Default: 2m.
	HalfLife Duration `yaml:"half_life"`
}

// Relayer defaults (the one place they live besides the doc comments).
const (
	DefaultHedgeMax           = 1
	DefaultParticipants       = 3
	DefaultAgree              = 2
	DefaultQuarantineAfter    = 3
	DefaultCoolOff            = 30 * 1e9 // 30s
	DefaultShadowChecks       = 3
	DefaultReputationHalfLife = 2 * time.Minute
)

func (ch *Chain) applyRelayerDefaults() {
	r := &ch.Reputation
	setDefault(&r.QuarantineAfter, DefaultQuarantineAfter)
	setDefault(&r.CoolOff, Duration(DefaultCoolOff))
	setDefault(&r.ShadowChecks, DefaultShadowChecks)
	setDefault(&r.HalfLife, Duration(DefaultReputationHalfLife))
	ch.Consensus.applyDefaults()
	for _, g := range ch.Groups {
		if g == nil {
			continue
		}
		if g.Hedge != nil {
			setDefault(&g.Hedge.Max, DefaultHedgeMax)
		}
		g.Consensus.applyDefaults()
	}
}

func (c *Consensus) applyDefaults() {
	if c == nil {
		return
	}
	setDefault(&c.Mode, ConsensusOff)
	setDefault(&c.Participants, DefaultParticipants)
	setDefault(&c.Agree, min(DefaultAgree, c.Participants))
	setDefault(&c.OnDispute, DisputeError)
	setDefault(&c.LowParticipants, LowAcceptMostCommon)
}

var (
	consensusModes  = []string{ConsensusOff, ConsensusFastest, ConsensusQuorum}
	disputeModes    = []string{DisputeError, DisputeMostCommon, DisputeHighestHead}
	lowParticipants = []string{LowAcceptMostCommon, LowError}
)

// relayer checks a chain's hedge, consensus and reputation settings.
func (v *checker) relayer(p string, ch *Chain) {
	r := ch.Reputation
	if r.QuarantineAfter < 1 || r.QuarantineAfter > 100 {
		v.at(p+".reputation.quarantine_after", fmt.Sprintf("quarantine_after must be between 1 and 100, got %d", r.QuarantineAfter),
			"set quarantine_after: 3 (lost disputes before quarantine)")
	}
	v.positive(p+".reputation.cool_off", r.CoolOff)
	v.positive(p+".reputation.half_life", r.HalfLife)
	if r.ShadowChecks < 1 || r.ShadowChecks > 100 {
		v.at(p+".reputation.shadow_checks", fmt.Sprintf("shadow_checks must be between 1 and 100, got %d", r.ShadowChecks),
			"set shadow_checks: 3")
	}
	v.consensus(p+".consensus", ch.Consensus)
	for _, gn := range slices.Sorted(maps.Keys(ch.Groups)) {
		g := ch.Groups[gn]
		if g == nil {
			continue
		}
		gp := joinPath(p+".groups", gn)
		if h := g.Hedge; h != nil {
			if h.After < 0 {
				v.at(gp+".hedge.after", fmt.Sprintf("after must not be negative, got %s", h.After),
					`set after: 150ms, or remove it for the adaptive delay`)
			}
			if h.Max < 1 || h.Max > 4 {
				v.at(gp+".hedge.max", fmt.Sprintf("max must be between 1 and 4, got %d", h.Max),
					"set max: 1 (one hedge beside the first attempt)")
			}
		}
		v.consensus(gp+".consensus", g.Consensus)
	}
}

func (v *checker) consensus(p string, c *Consensus) {
	if c == nil {
		return
	}
	v.oneOf(p+".mode", "consensus", c.Mode, consensusModes)
	v.oneOf(p+".on_dispute", "consensus", c.OnDispute, disputeModes)
	v.oneOf(p+".low_participants", "consensus", c.LowParticipants, lowParticipants)
	if c.Participants < 2 || c.Participants > 10 {
		v.at(p+".participants", fmt.Sprintf("participants must be between 2 and 10, got %d", c.Participants),
			"set participants: 3")
	}
	if c.Agree < 1 || c.Agree > c.Participants {
		v.at(p+".agree", fmt.Sprintf("agree must be between 1 and participants (%d), got %d", c.Participants, c.Agree),
			"set agree: 2 with participants: 3")
	}
	v.patterns(p+".methods", c.Methods)
	for _, m := range slices.Sorted(maps.Keys(c.IgnoreFields)) {
		for i, f := range c.IgnoreFields[m] {
			if f == "" || strings.HasPrefix(f, ".") || strings.HasSuffix(f, ".") || strings.Contains(f, "..") {
				v.at(fmt.Sprintf("%s[%d]", joinPath(p+".ignore_fields", m), i), fmt.Sprintf("%q is not a dot path", f),
					`write a path into the result such as "transactions.*.v" or "size"`)
			}
		}
	}
	for _, m := range slices.Sorted(maps.Keys(c.PerMethod)) {
		if pm := c.PerMethod[m]; pm != nil {
			v.consensus(joinPath(p+".per_method", m), pm.Policy(c))
		}
	}
}
