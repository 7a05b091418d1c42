package store

import (
	"strings"
	"testing"
)

// FuzzParseFilter: any params either parse into a filter whose lists are
// lower-case hex of the right length, or are rejected; nothing panics.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`[{"fromBlock":"0x0","toBlock":"0x10"}]`,
		`[{"blockHash":"0x00000000000000000000000000000000000000000000000000000000000000aa"}]`,
		`[{"address":["0x00000000000000000000000000000000c0ffee02"],"topics":[null,["0x2222222222222222222222222222222222222222222222222222222222222222",null]]}]`,
		`[{"fromBlock":"latest"}]`, `[]`, `{}`, `[{"topics":[1]}]`, `[{"address":5}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		fl, err := ParseFilter(params)
		if err != nil {
			return
		}
		for _, a := range fl.Addresses {
			if len(a) != 42 || a != strings.ToLower(a) {
				t.Fatalf("address %q", a)
			}
		}
		if len(fl.Topics) > 4 {
			t.Fatalf("%d topic positions", len(fl.Topics))
		}
		for _, pos := range fl.Topics {
			for _, x := range pos {
				if len(x) != 66 || x != strings.ToLower(x) {
					t.Fatalf("topic %q", x)
				}
			}
		}
		if fl.BlockHash != "" && (fl.FromTag != "" || fl.ToTag != "") {
			t.Fatalf("blockHash with a range")
		}
	})
}

func TestParseFilterGethSemantics(t *testing.T) {
	h := "0x2222222222222222222222222222222222222222222222222222222222222222"
	cases := []struct {
		params string
		topics int
		wild   []bool
		ok     bool
	}{
		{`[{"fromBlock":"0x1","toBlock":"0x2"}]`, 0, nil, true},
		{`[{"topics":[null,"` + h + `"]}]`, 2, []bool{true, false}, true},
		{`[{"topics":[["` + h + `",null]]}]`, 1, []bool{true}, true}, // null in an OR list: any
		{`[{"topics":[[]]}]`, 1, []bool{true}, true},
		{`[{"topics":[null,null,null,null,null]}]`, 0, nil, false},
		{`[{"blockHash":"` + h + `","fromBlock":"0x1"}]`, 0, nil, false},
		{`[{"address":"0x12"}]`, 0, nil, false},
	}
	for _, c := range cases {
		f, err := ParseFilter([]byte(c.params))
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok=%v", c.params, err, c.ok)
			continue
		}
		if !c.ok {
			continue
		}
		if len(f.Topics) != c.topics {
			t.Errorf("%s: %d positions, want %d", c.params, len(f.Topics), c.topics)
		}
		for i, w := range c.wild {
			if (len(f.Topics[i]) == 0) != w {
				t.Errorf("%s: position %d wildcard=%v", c.params, i, !w)
			}
		}
	}
}
