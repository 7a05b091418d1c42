package config

import (
	"errors"
	"fmt"
	"testing"
)

func TestProblemRendering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "c.yaml", Line: 3, Column: 5, Path: "listen", Msg: "bad", Hint: "fix it"}, "c.yaml:3:5: bad (hint: fix it)"},
		{Problem{File: "c.yaml", Line: 3, Msg: "bad"}, "c.yaml:3: bad"},
		{Problem{File: "c.yaml", Msg: "the config file is empty"}, "c.yaml: the config file is empty"},
		{Problem{Path: "chains.eth.nodes", Msg: "no nodes"}, "config: chains.eth.nodes: no nodes"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	ps := Problems{tests[0].p, tests[1].p}
	if got, want := ps.Error(), tests[0].want+"\n"+tests[1].want; got != want {
		t.Errorf("Problems.Error() = %q, want %q", got, want)
	}
}

func TestAsProblems(t *testing.T) {
	t.Parallel()
	ps := Problems{{File: "c.yaml", Line: 1, Msg: "bad"}}
	wrapped := fmt.Errorf("loading: %w", ps)
	got, ok := AsProblems(wrapped)
	if !ok || len(got) != 1 || got[0].Msg != "bad" {
		t.Errorf("AsProblems(wrapped) = %v, %v", got, ok)
	}
	if _, ok := AsProblems(errors.New("other")); ok {
		t.Error("AsProblems accepted a plain error")
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load("does-not-exist.yaml")
	ps, ok := AsProblems(err)
	if !ok || len(ps) != 1 || ps[0].File != "does-not-exist.yaml" || ps[0].Line != 0 {
		t.Fatalf("Load of a missing file = %v", err)
	}
}

func TestValidateConfigBuiltInCode(t *testing.T) {
	t.Parallel()
	c := &Config{Chains: map[string]*Chain{"eth": {ChainID: 1,
		Nodes:  map[string]*Node{"a": {URL: "http://10.0.0.1:8545"}},
		Groups: map[string]*Group{"default": {Nodes: []string{"a", "b"}}}}}}
	c.ApplyDefaults()
	ps, ok := AsProblems(c.Validate())
	if !ok || len(ps) != 1 || ps[0].Path != "chains.eth.groups.default.nodes[1]" {
		t.Fatalf("Validate = %v, want one problem about node b", ps)
	}
	c.Chains["eth"].Groups["default"].Nodes = []string{"a"}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate of a fixed config: %v", err)
	}
}
