package gateway

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/rpcgate/rpcgate/internal/admin"
	"github.com/rpcgate/rpcgate/internal/nodespec"
)

// Where a node added through the admin API may point. Config file nodes
// are the operator's own and are not judged here.
//
// The checks run on the addresses the host resolves to at add time. A
// name that later resolves elsewhere is not caught; list networks (CIDRs)
// in admin.allow_node_hosts rather than names where that matters.

// checkTargets checks the node's url and ws endpoints.
func (g *Gateway) checkTargets(ctx context.Context, s nodespec.Spec, allow []string) error {
	rules, err := nodespec.ParseHostRules(allow)
	if err != nil { // config validation refuses this; never serve a broken list open
		return fmt.Errorf("admin.allow_node_hosts: %w", err)
	}
	if err := g.checkTarget(ctx, nodespec.FieldURL, s.URL, rules); err != nil {
		return err
	}
	if s.WS != "" {
		return g.checkTarget(ctx, nodespec.FieldWS, s.WS, rules)
	}
	return nil
}

// checkTarget refuses an endpoint that is one of the gateway's own
// listeners (a request loop), a metadata or link-local address not listed
// in allow_node_hosts, or (with a list) anything the list does not allow.
func (g *Gateway) checkTarget(ctx context.Context, field, raw string, rules nodespec.HostRules) error {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return &admin.InvalidError{Field: field, Msg: "is not a URL with a host"}
	}
	host := u.Hostname()
	port, err := portOf(u)
	if err != nil {
		return &admin.InvalidError{Field: field, Msg: "has no valid port"}
	}
	if nodespec.SpecialHost(host) && !rules.AllowsName(host, true) {
		return &admin.InvalidError{Field: field,
			Msg: "names a cloud metadata service; nodes may point there only when admin.allow_node_hosts lists the name"}
	}
	addrs, err := resolve(ctx, host)
	if err != nil {
		// Said like a failed probe: DNS answers are no business of the
		// admin caller's either.
		return &admin.VerifyError{Err: admin.ErrUnreachable}
	}
	own := g.ownListeners()
	for _, a := range addrs {
		if loops(a, port, own) {
			return &admin.InvalidError{Field: field,
				Msg: "points at this gateway's own listener, which would send requests in a loop; give the node's own address"}
		}
	}
	for _, a := range addrs {
		if why := nodespec.Special(a); why != "" && !rules.AllowsAddr(a) {
			return &admin.InvalidError{Field: field,
				Msg: fmt.Sprintf("resolves to %s; nodes may point there only when admin.allow_node_hosts has a network containing it", why)}
		}
	}
	if len(rules) == 0 || rules.AllowsName(host, false) {
		return nil
	}
	for _, a := range addrs {
		if !rules.AllowsAddr(a) {
			return &admin.InvalidError{Field: field, Msg: "is not allowed by admin.allow_node_hosts"}
		}
	}
	return nil
}

// portOf is the URL's port, or its scheme's default.
func portOf(u *url.URL) (uint16, error) {
	p := u.Port()
	if p == "" {
		switch strings.ToLower(u.Scheme) {
		case "https", "wss":
			return 443, nil
		default:
			return 80, nil
		}
	}
	n, err := strconv.ParseUint(p, 10, 16)
	return uint16(n), err
}

// resolve returns every address host names (an address is itself).
func resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	for i, a := range addrs {
		addrs[i] = a.Unmap()
	}
	return addrs, nil
}

// listener is one of the gateway's own listening sockets.
type listener struct {
	addr netip.Addr // unspecified for a 0.0.0.0 or [::] bind
	port uint16
}

// ownListeners lists the public and admin listeners as bound (so a
// configured port 0 is the real port).
func (g *Gateway) ownListeners() []listener {
	var out []listener
	var addrs []string
	for _, ln := range []net.Listener{g.publicLn, g.adminLn} {
		if ln != nil {
			addrs = append(addrs, ln.Addr().String())
		}
	}
	if g.orch != nil && g.orch.Addr() != "" {
		addrs = append(addrs, g.orch.Addr())
	}
	for _, a := range addrs {
		if ap, err := netip.ParseAddrPort(a); err == nil {
			out = append(out, listener{addr: ap.Addr().Unmap(), port: ap.Port()})
		}
	}
	return out
}

// loops reports that a connection to a:port would reach one of own: same
// port, and the same address, or a listener bound to every address and a
// local a, or an unspecified a (which Linux connects to the local host).
func loops(a netip.Addr, port uint16, own []listener) bool {
	for _, l := range own {
		if l.port != port {
			continue
		}
		switch {
		case a == l.addr, a.IsUnspecified():
			return true
		case l.addr.IsUnspecified() && isLocal(a):
			return true
		}
	}
	return false
}

// isLocal reports an address of this host: loopback, or one of its
// interfaces' addresses.
func isLocal(a netip.Addr) bool {
	if a.IsLoopback() {
		return true
	}
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range ifaddrs {
		if n, ok := ia.(*net.IPNet); ok {
			if x, ok := netip.AddrFromSlice(n.IP); ok && x.Unmap() == a {
				return true
			}
		}
	}
	return false
}
