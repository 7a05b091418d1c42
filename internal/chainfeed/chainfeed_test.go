package chainfeed

import (
	"encoding/json"
	"strings"
	"testing"
)

const (
	addrA  = "0x00000000000000000000000000000000000000aa"
	addrB  = "0x00000000000000000000000000000000000000bb"
	topic1 = "0x1111111111111111111111111111111111111111111111111111111111111111"
	topic2 = "0x2222222222222222222222222222222222222222222222222222222222222222"
)

// Match follows geth's filterLogs: any listed address; per position any
// listed topic; null is a wildcard; more positions than the log has
// never match.
func TestCriteriaMatch(t *testing.T) {
	log := &Log{Address: addrA, Topics: []string{topic1, topic2}}
	cases := []struct {
		filter string
		want   bool
	}{
		{`{}`, true},
		{`{"address":"` + addrA + `"}`, true},
		{`{"address":"` + strings.ToUpper(addrB[2:]) + `"}`, false},
		{`{"address":["` + addrB + `","` + addrA + `"]}`, true},
		{`{"topics":["` + topic1 + `"]}`, true},
		{`{"topics":[null,"` + topic2 + `"]}`, true},
		{`{"topics":[null,"` + topic1 + `"]}`, false},
		{`{"topics":[["` + topic2 + `","` + topic1 + `"]]}`, true},
		{`{"topics":[null,null,null]}`, false}, // three positions, the log has two
	}
	for _, c := range cases {
		crit, err := ParseCriteria([]byte(c.filter))
		if strings.Contains(c.filter, strings.ToUpper(addrB[2:])) {
			if err == nil {
				t.Errorf("%s: address without 0x accepted", c.filter)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.filter, err)
		}
		if got := crit.Match(log); got != c.want {
			t.Errorf("%s: match %v, want %v", c.filter, got, c.want)
		}
	}
	if _, err := ParseCriteria([]byte(`{"topics":[null,null,null,null,null]}`)); err == nil {
		t.Error("five topic positions accepted; geth allows four")
	}
}

func blk(n uint64, hash, parent string) *Block {
	return &Block{Number: n, Hash: hash, Parent: parent}
}

// since walks a reader's cursor on a dropped block back to the fork
// point: the dropped blocks (oldest first), then the new canonical ones.
func TestRingSinceReorg(t *testing.T) {
	r := newRing(16)
	r.push(blk(1, "h1", "h0"))
	r.push(blk(2, "h2", "h1"))
	r.push(blk(3, "a3", "h2"))
	r.push(blk(4, "a4", "a3"))
	removed := r.truncateFrom(3)
	if len(removed) != 2 || removed[0].Hash != "a3" || removed[1].Hash != "a4" {
		t.Fatalf("truncateFrom: %v", removed)
	}
	for _, b := range []*Block{blk(3, "b3", "h2"), blk(4, "b4", "b3"), blk(5, "b5", "b4")} {
		r.push(b)
	}
	rm, add, ok := r.since(4, "a4")
	if !ok || len(rm) != 2 || rm[0].Hash != "a3" || rm[1].Hash != "a4" || len(add) != 3 || add[0].Hash != "b3" {
		t.Fatalf("since(a4): removed %v added %v ok %v", rm, add, ok)
	}
	rm, add, ok = r.since(2, "h2")
	if !ok || len(rm) != 0 || len(add) != 3 {
		t.Fatalf("since(h2): removed %v added %v ok %v", rm, add, ok)
	}
	if _, _, ok := r.since(9, "zz"); ok {
		t.Fatal("unknown cursor reported as covered")
	}
}

// The ring and the dropped set stay within their bound.
func TestRingBounded(t *testing.T) {
	r := newRing(8)
	for i := uint64(1); i <= 100; i++ {
		r.push(blk(i, "h"+string(rune('a'+i%26))+strings.Repeat("x", int(i)), ""))
	}
	if len(r.blocks) != 8 || r.tip().Number != 100 || r.at(93).Number != 93 || r.at(92) != nil {
		t.Fatalf("ring holds %d blocks, tip %d", len(r.blocks), r.tip().Number)
	}
	for i := uint64(0); i < 50; i++ {
		r.truncateFrom(r.tip().Number)
		r.push(blk(r.tip().Number+1, "n"+strings.Repeat("y", int(i)), ""))
	}
	if len(r.dropped) > 8 || len(r.order) > 8 {
		t.Fatalf("dropped set grew to %d", len(r.dropped))
	}
}

// A block becomes geth's newHeads header: no transactions, uncles, size,
// totalDifficulty or withdrawals; everything else kept.
func TestParseBlockHeader(t *testing.T) {
	raw := `{"number":"0x10","hash":"0xABCD","parentHash":"0x01","miner":"0x02","transactions":["0x03"],"uncles":[],"size":"0x1","totalDifficulty":"0x0","withdrawals":[]}`
	b, err := parseBlock([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b.Header, &m)
	for _, k := range headerDrop {
		if _, ok := m[k]; ok {
			t.Errorf("header keeps %s", k)
		}
	}
	if b.Number != 16 || b.Hash != "0xabcd" || string(m["miner"]) != `"0x02"` {
		t.Fatalf("block %+v header %s", b, b.Header)
	}
	if _, err := parseBlock([]byte("null")); err == nil {
		t.Fatal("null block accepted")
	}
}

func TestParseLogsRemoved(t *testing.T) {
	logs, err := parseLogs([]byte(`[{"address":"` + addrA + `","topics":["` + topic1 + `"],"data":"0x","removed":false}]`))
	if err != nil || len(logs) != 1 {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(logs[0].Removed, &m)
	if string(m["removed"]) != "true" || string(m["data"]) != `"0x"` {
		t.Fatalf("removed form %s", logs[0].Removed)
	}
}

// FuzzNodeAnswers feeds arbitrary node bytes to the block and log
// parsers: errors, never panics.
func FuzzNodeAnswers(f *testing.F) {
	f.Add([]byte(`{"number":"0x1","hash":"0x2","parentHash":"0x3"}`))
	f.Add([]byte(`[{"address":"0x1","topics":["0x2"]}]`))
	f.Add([]byte(`{"topics":[["0x1",null],null]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseBlock(b)
		_, _ = parseLogs(b)
		c, err := ParseCriteria(b)
		if err == nil {
			c.Match(&Log{Address: addrA, Topics: []string{topic1}})
		}
	})
}
