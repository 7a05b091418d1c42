package registry

import (
	"errors"
	"reflect"
	"testing"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/nodespec"
)

func testChain() *config.Chain {
	cc := &config.Chain{
		ChainID: 1337,
		Nodes: map[string]*config.Node{
			"a": {URL: "http://10.0.0.1:8545"},
			"b": {URL: "http://10.0.0.2:8545", Weight: 2},
			"c": {URL: "http://10.0.0.3:8545"},
		},
		Groups: map[string]*config.Group{
			"default": {Nodes: []string{"a", "b"}},
			"logs":    {Methods: []string{"eth_getLogs"}, Nodes: []string{"c"}, Fallback: "default"},
		},
	}
	(&config.Config{Chains: map[string]*config.Chain{"eth": cc}}).ApplyDefaults()
	return cc
}

func TestMerge(t *testing.T) {
	t.Parallel()
	cfgNode := func(name string) nodespec.Spec { return testChain().Nodes[name].Spec(name) }
	newNode := func(name, url string) nodespec.Spec {
		return nodespec.Spec{Name: name, URL: url, Weight: 1, Workers: 32, Queue: 256, MaxRequestBytes: 5 << 20}
	}
	baseNodes := map[string]nodespec.Spec{"a": cfgNode("a"), "b": cfgNode("b"), "c": cfgNode("c")}
	with := func(m map[string]nodespec.Spec, name string, n *nodespec.Spec) map[string]nodespec.Spec {
		out := map[string]nodespec.Spec{}
		for k, v := range m {
			out[k] = v
		}
		if n == nil {
			delete(out, name)
		} else {
			out[name] = *n
		}
		return out
	}
	ptr := func(n nodespec.Spec) *nodespec.Spec { return &n }

	for _, tc := range []struct {
		name    string
		entries []Entry
		nodes   map[string]nodespec.Spec
		groups  map[string][]string
		parked  map[string]bool
		errIs   error // every error must wrap it
	}{
		{
			name:   "no entries is the config",
			nodes:  baseNodes,
			groups: map[string][]string{"default": {"a", "b"}, "logs": {"c"}},
			parked: map[string]bool{},
		},
		{
			name:    "add a node into a group",
			entries: []Entry{{Chain: "eth", Name: "d", URL: "http://10.0.0.4:8545", Groups: []string{"logs"}, Workers: 4}},
			nodes:   with(baseNodes, "d", &nodespec.Spec{Name: "d", URL: "http://10.0.0.4:8545", Weight: 1, Workers: 4, Queue: 32, MaxRequestBytes: 5 << 20}),
			groups:  map[string][]string{"default": {"a", "b"}, "logs": {"c", "d"}},
			parked:  map[string]bool{},
		},
		{
			name:    "add a node without groups joins default",
			entries: []Entry{{Chain: "eth", Name: "d", URL: "http://10.0.0.4:8545"}},
			nodes:   with(baseNodes, "d", ptr(newNode("d", "http://10.0.0.4:8545"))),
			groups:  map[string][]string{"default": {"a", "b", "d"}, "logs": {"c"}},
			parked:  map[string]bool{},
		},
		{
			name:    "replace a config node keeps its groups",
			entries: []Entry{{Chain: "eth", Name: "b", URL: "http://10.9.9.9:8545"}},
			nodes:   with(baseNodes, "b", ptr(newNode("b", "http://10.9.9.9:8545"))),
			groups:  map[string][]string{"default": {"a", "b"}, "logs": {"c"}},
			parked:  map[string]bool{},
		},
		{
			name:    "replace a config node and move it",
			entries: []Entry{{Chain: "eth", Name: "a", URL: "http://10.9.9.9:8545", Groups: []string{"logs"}}},
			nodes:   with(baseNodes, "a", ptr(newNode("a", "http://10.9.9.9:8545"))),
			groups:  map[string][]string{"default": {"b"}, "logs": {"c", "a"}},
			parked:  map[string]bool{},
		},
		{
			name:    "tombstone a config node",
			entries: []Entry{{Chain: "eth", Name: "b", Removed: true, URL: "http://ignored:1", Parked: true}},
			nodes:   with(baseNodes, "b", nil),
			groups:  map[string][]string{"default": {"a"}, "logs": {"c"}},
			parked:  map[string]bool{},
		},
		{
			name:    "tombstone of an unknown node is harmless",
			entries: []Entry{{Chain: "eth", Name: "zz", Removed: true}},
			nodes:   baseNodes,
			groups:  map[string][]string{"default": {"a", "b"}, "logs": {"c"}},
			parked:  map[string]bool{},
		},
		{
			name: "park a config node and a new one",
			entries: []Entry{
				{Chain: "eth", Name: "c", Parked: true},
				{Chain: "eth", Name: "d", URL: "http://10.0.0.4:8545", Parked: true},
			},
			nodes:  with(baseNodes, "d", ptr(newNode("d", "http://10.0.0.4:8545"))),
			groups: map[string][]string{"default": {"a", "b", "d"}, "logs": {"c"}},
			parked: map[string]bool{"c": true, "d": true},
		},
		{
			name:    "regroup a config node without a url",
			entries: []Entry{{Chain: "eth", Name: "c", Groups: []string{"default", "logs"}}},
			nodes:   baseNodes,
			groups:  map[string][]string{"default": {"a", "b", "c"}, "logs": {"c"}},
			parked:  map[string]bool{},
		},
		{
			name: "unknown group is reported and the entry skipped",
			entries: []Entry{
				{Chain: "eth", Name: "d", URL: "http://10.0.0.4:8545", Groups: []string{"default", "traces"}},
				{Chain: "eth", Name: "e", URL: "http://10.0.0.5:8545"},
			},
			nodes:  with(baseNodes, "e", ptr(newNode("e", "http://10.0.0.5:8545"))),
			groups: map[string][]string{"default": {"a", "b", "e"}, "logs": {"c"}},
			parked: map[string]bool{},
			errIs:  ErrUnknownGroup,
		},
		{
			name:    "parking an unknown node is reported",
			entries: []Entry{{Chain: "eth", Name: "zz", Parked: true}},
			nodes:   baseNodes,
			groups:  map[string][]string{"default": {"a", "b"}, "logs": {"c"}},
			parked:  map[string]bool{},
			errIs:   ErrUnknownNode,
		},
		{
			name: "other chains are ignored; entries apply in name order",
			entries: []Entry{
				{Chain: "op", Name: "a", Removed: true},
				{Chain: "eth", Name: "e", URL: "http://10.0.0.5:8545"},
				{Chain: "eth", Name: "d", URL: "http://10.0.0.4:8545"},
			},
			nodes: with(with(baseNodes, "d", ptr(newNode("d", "http://10.0.0.4:8545"))),
				"e", ptr(newNode("e", "http://10.0.0.5:8545"))),
			groups: map[string][]string{"default": {"a", "b", "d", "e"}, "logs": {"c"}},
			parked: map[string]bool{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := testChain()
			nodes, groups, parked, err := Merge("eth", cc, tc.entries)
			if tc.errIs == nil && err != nil {
				t.Fatalf("Merge error: %v", err)
			}
			if tc.errIs != nil {
				var ee *EntryError
				if !errors.Is(err, tc.errIs) || !errors.As(err, &ee) {
					t.Fatalf("Merge error = %v; want an *EntryError wrapping %v", err, tc.errIs)
				}
			}
			if !reflect.DeepEqual(nodes, tc.nodes) {
				t.Errorf("nodes =\n%+v\nwant\n%+v", nodes, tc.nodes)
			}
			if !reflect.DeepEqual(groups, tc.groups) {
				t.Errorf("groups = %v; want %v", groups, tc.groups)
			}
			if !reflect.DeepEqual(parked, tc.parked) {
				t.Errorf("parked = %v; want %v", parked, tc.parked)
			}
			if !reflect.DeepEqual(cc, testChain()) {
				t.Errorf("Merge modified the config")
			}
		})
	}
}

func TestMergeUnknownChain(t *testing.T) {
	t.Parallel()
	nodes, _, _, err := Merge("op", nil, []Entry{{Chain: "op", Name: "a", URL: "http://x:1"}})
	if !errors.Is(err, ErrUnknownChain) || len(nodes) != 0 {
		t.Fatalf("Merge on a chain not in the config = %v, %v; want no nodes and ErrUnknownChain", nodes, err)
	}
}
