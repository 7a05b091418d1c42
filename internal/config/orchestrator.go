package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

var genesisHash = regexp.MustCompile(`^0x[0-9a-fA-F]{64}$`)

// orchestrator checks the join listener and the per-chain join settings.
func (v *checker) orchestrator(o *Orchestrator, chains map[string]*Chain) {
	if o == nil {
		return
	}
	if o.Listen == "" {
		v.atKey("orchestrator.listen", "orchestrator.listen is empty", "set it to the address agents connect to, e.g. 127.0.0.1:18547")
	} else {
		v.listen("orchestrator.listen", o.Listen)
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		v.at("orchestrator.tls_cert", "orchestrator.tls_cert and orchestrator.tls_key go together", "set both PEM files, or neither for plain ws://")
	}
	v.positive("orchestrator.lease", o.Lease)
	v.positive("orchestrator.check_interval", o.CheckInterval)
	v.atLeast("orchestrator.probation_checks", int64(o.ProbationChecks), 1)
	if o.Weight < 1 || o.Weight > 1000 {
		v.at("orchestrator.weight", fmt.Sprintf("orchestrator.weight %d is outside 1..1000", o.Weight), "a node's weight is 1 to 1000")
	}
	for _, name := range slices.Sorted(maps.Keys(o.Chains)) {
		oc, p := o.Chains[name], "orchestrator.chains."+name
		if _, ok := chains[name]; !ok {
			v.atKey(p, fmt.Sprintf("orchestrator.chains names chain %q, which chains: does not define", name), suggest(name, slices.Sorted(maps.Keys(chains)), "chain"))
			continue
		}
		if oc == nil {
			continue
		}
		if oc.Genesis != "" && !genesisHash.MatchString(oc.Genesis) {
			v.at(p+".genesis", fmt.Sprintf("%s.genesis %q is not a block hash", p, oc.Genesis), "write 0x followed by 64 hex digits (block 0's hash)")
		}
		if t := oc.URLTemplate; t != "" && (!strings.Contains(t, "{name}") || !validURL(strings.ReplaceAll(t, "{name}", "n"), "http", "https")) {
			v.at(p+".url_template", fmt.Sprintf("%s.url_template %q is not an http(s) URL with {name} in it", p, redact(t)), `write e.g. url_template: "http://{name}:8545"`)
		}
	}
}

// sessions checks the client session settings.
func (v *checker) sessions(s Sessions) {
	v.atLeast("sessions.size", int64(s.Size), 0)
	v.positive("sessions.epoch", s.Epoch)
	if s.ReadYourWrites < 0 {
		v.at("sessions.read_your_writes", "sessions.read_your_writes is negative", "write a duration such as 30s, or 0 for off")
	}
}
