package route

import (
	"net"
	"strings"
)

// Chains resolves a request's chain from its Host header or first path
// segment. T is the caller's per-chain value.
type Chains[T any] struct {
	byName map[string]T
	byHost map[string]T
	only   T
	single bool
	names  []string
}

// NewChains builds the resolver. hosts maps a Host value (no port,
// lower-case) to a chain name.
func NewChains[T any](byName map[string]T, hosts map[string]string, names []string) *Chains[T] {
	c := &Chains[T]{byName: byName, byHost: map[string]T{}, names: names}
	for h, name := range hosts {
		c.byHost[strings.ToLower(h)] = byName[name]
	}
	if len(byName) == 1 {
		c.single = true
		for _, v := range byName {
			c.only = v
		}
	}
	return c
}

// Values returns every chain's value in name order.
func (c *Chains[T]) Values() []T {
	out := make([]T, 0, len(c.names))
	for _, n := range c.names {
		out = append(out, c.byName[n])
	}
	return out
}

// Names lists the chain names, sorted.
func (c *Chains[T]) Names() []string { return c.names }

// Resolve finds the chain for host and path. rest is what follows the
// chain segment (reserved for API keys). Resolution order: the first path
// segment naming a chain; then the Host header; then the only chain when
// there is exactly one and the path is "/".
func (c *Chains[T]) Resolve(host, urlPath string) (chain T, rest string, ok bool) {
	p := strings.TrimPrefix(urlPath, "/")
	seg, rest, _ := strings.Cut(p, "/")
	if seg != "" {
		if v, found := c.byName[seg]; found {
			return v, rest, true
		}
	}
	if len(c.byHost) > 0 {
		h := host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			h = hh
		}
		if v, found := c.byHost[strings.ToLower(h)]; found {
			return v, p, true
		}
	}
	if c.single && p == "" {
		return c.only, "", true
	}
	var zero T
	return zero, "", false
}
