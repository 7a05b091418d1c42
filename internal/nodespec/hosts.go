package nodespec

import (
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strings"
)

// HostRule is one entry of admin.allow_node_hosts: a network, or a glob
// over host names.
type HostRule struct {
	Prefix netip.Prefix // valid for a CIDR (or bare address) rule
	Glob   string       // lower case, for a host-name rule
}

// hostGlobRE is what a host glob may contain: host name characters and the
// path.Match wildcards '*' and '?'.
var hostGlobRE = regexp.MustCompile(`^[a-z0-9*?]([a-z0-9*?.-]*[a-z0-9*?])?$`)

// ParseHostRule reads one allow_node_hosts entry. A bare address is a
// one-address network (10.0.0.1 is 10.0.0.1/32).
func ParseHostRule(s string) (HostRule, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return HostRule{Prefix: p.Masked()}, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return HostRule{Prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	g := strings.ToLower(s)
	if _, err := path.Match(g, ""); err != nil || !hostGlobRE.MatchString(g) {
		return HostRule{}, fmt.Errorf("%q is not a CIDR, an IP address or a host name glob", s)
	}
	return HostRule{Glob: g}, nil
}

// HostRules is a parsed allow_node_hosts list.
type HostRules []HostRule

// ParseHostRules reads a whole allow_node_hosts list.
func ParseHostRules(list []string) (HostRules, error) {
	rs := make(HostRules, 0, len(list))
	for _, s := range list {
		r, err := ParseHostRule(s)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// metadataHosts are cloud metadata services reached by name.
var metadataHosts = []string{"metadata.google.internal", "metadata.goog"}

// metadataAddrs are cloud metadata services reached by address: AWS,
// GCP, Azure, OpenStack and others on 169.254.169.254 (inside link-local,
// listed for the message), AWS's IPv6 endpoint, Alibaba's 100.100.100.200.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("100.100.100.200"),
}

// Special reports why addr may not be a node's address unless listed
// ("" when it may): cloud metadata services, and link-local addresses
// (169.254.0.0/16, fe80::/10), which hold them and nothing a fleet needs.
func Special(addr netip.Addr) string {
	addr = addr.Unmap()
	for _, m := range metadataAddrs {
		if addr == m {
			return "a cloud metadata address"
		}
	}
	if addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() {
		return "a link-local address"
	}
	return ""
}

// SpecialHost reports a host name that names a metadata service.
func SpecialHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, h := range metadataHosts {
		if host == h {
			return true
		}
	}
	return false
}

// AllowsAddr reports a network rule containing addr.
func (rs HostRules) AllowsAddr(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, r := range rs {
		if r.Prefix.IsValid() && r.Prefix.Contains(addr) {
			return true
		}
	}
	return false
}

// AllowsName reports a glob matching host. With exact, only a rule
// without wildcards that names host itself counts (how a metadata host
// name must be listed).
func (rs HostRules) AllowsName(host string, exact bool) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, r := range rs {
		if r.Glob == "" {
			continue
		}
		if exact {
			if r.Glob == host {
				return true
			}
			continue
		}
		if ok, _ := path.Match(r.Glob, host); ok {
			return true
		}
	}
	return false
}
