package tenant

import (
	"net/netip"
	"strings"
)

// proxies is the set of trusted proxy networks.
type proxies []netip.Prefix

func (p proxies) trusted(a netip.Addr) bool {
	for _, n := range p {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the TCP peer unless the peer is a trusted proxy. Then
// CF-Connecting-IP wins when present and valid (Cloudflare sets it to the
// address it saw), otherwise X-Forwarded-For is read from the right: the
// first address that is not itself a trusted proxy is the client. Entries
// left of it were written by the client and are never believed. Trust
// only proxies that overwrite or strip CF-Connecting-IP, since it is taken
// as is.
func (p proxies) clientIP(r Request) netip.Addr {
	peer := r.Peer()
	if len(p) == 0 || !peer.IsValid() || !p.trusted(peer) {
		return peer
	}
	if v := r.Header("Cf-Connecting-Ip"); v != "" {
		if a, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
			return a.Unmap()
		}
	}
	client := peer
	xff := r.HeaderValues("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		line := xff[i]
		for line != "" {
			var item string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				item, line = line[j+1:], line[:j]
			} else {
				item, line = line, ""
			}
			a := ParseHostAddr(strings.TrimSpace(item))
			if !a.IsValid() {
				return client // garbage: believe nothing further left
			}
			client = a
			if !p.trusted(a) {
				return client
			}
		}
	}
	return client
}

// ParseHostAddr reads "ip", "ip:port" or "[ipv6]:port", unmapping
// IPv4-in-IPv6; anything else is the zero Addr.
// The parser is picked by shape, since a failed parse allocates its error.
func ParseHostAddr(s string) netip.Addr {
	if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return ap.Addr().Unmap()
		}
		return netip.Addr{}
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// parseProxies reads trusted_proxies: CIDRs, or single addresses.
func parseProxies(list []string) (proxies, error) {
	var out proxies
	for _, s := range list {
		if pfx, err := netip.ParsePrefix(s); err == nil {
			out = append(out, pfx.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, &configError{field: "tenancy.trusted_proxies", msg: "\"" + s + "\" is neither a CIDR (10.0.0.0/8) nor an IP address"}
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
