// Package route decides where a request goes: which chain (by path or
// Host header) and which node group (by method name or glob), and whether
// the method is allowed at all. It knows names only, not nodes.
package route

import (
	"path"
	"sort"
	"strings"
)

// Methods maps a method to its group name and applies the allow/deny
// policy. Exact names win over globs; among globs the longest pattern wins
// (so "debug_trace*" beats "debug_*"). It is immutable after NewMethods.
type Methods struct {
	exact map[string]string
	globs []glob
	def   string
	allow patterns
	deny  patterns
}

type glob struct{ pattern, group string }

// NewMethods builds the table. claims maps each group name to its method
// patterns; unclaimed methods go to def.
func NewMethods(claims map[string][]string, def string, allow, deny []string) *Methods {
	m := &Methods{exact: map[string]string{}, def: def, allow: newPatterns(allow), deny: newPatterns(deny)}
	for group, pats := range claims {
		for _, p := range pats {
			if isGlob(p) {
				m.globs = append(m.globs, glob{p, group})
			} else {
				m.exact[p] = group
			}
		}
	}
	sort.Slice(m.globs, func(i, j int) bool {
		if len(m.globs[i].pattern) != len(m.globs[j].pattern) {
			return len(m.globs[i].pattern) > len(m.globs[j].pattern)
		}
		return m.globs[i].pattern < m.globs[j].pattern
	})
	return m
}

// Group returns the group name serving method.
func (m *Methods) Group(method string) string {
	if g, ok := m.exact[method]; ok {
		return g
	}
	for _, g := range m.globs {
		if ok, _ := path.Match(g.pattern, method); ok {
			return g.group
		}
	}
	return m.def
}

// Allowed reports whether the chain's policy lets method through.
func (m *Methods) Allowed(method string) bool {
	if m.deny.match(method) {
		return false
	}
	return m.allow.empty() || m.allow.match(method)
}

type patterns struct {
	exact map[string]struct{}
	globs []string
}

func newPatterns(list []string) patterns {
	p := patterns{exact: map[string]struct{}{}}
	for _, s := range list {
		if isGlob(s) {
			p.globs = append(p.globs, s)
		} else {
			p.exact[s] = struct{}{}
		}
	}
	return p
}

func (p patterns) empty() bool { return len(p.exact) == 0 && len(p.globs) == 0 }

func (p patterns) match(method string) bool {
	if _, ok := p.exact[method]; ok {
		return true
	}
	for _, g := range p.globs {
		if ok, _ := path.Match(g, method); ok {
			return true
		}
	}
	return false
}

func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }
