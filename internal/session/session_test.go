package session

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
)

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("node-%d", i)
	}
	return out
}

func id(s string) string { return s }

// TestAssignerStableBalancedAndMoving: 20 keys over 6 nodes, 3 each:
// every key gets exactly 3, the same within an epoch, no node carries more
// than 1.5x the mean, and the subsets change at the epoch boundary. (Plain
// rendezvous hashing fails the balance: see TestRendezvousAloneIsUnbalanced.)
func TestAssignerStableBalancedAndMoving(t *testing.T) {
	t.Parallel()
	nodes := names(6)
	const keys, size = 20, 3
	a := NewAssigner(size)
	for epoch := uint64(0); epoch < 50; epoch++ {
		load := map[string]int{}
		moved := 0
		prev := map[string][]string{}
		for k := 0; k < keys; k++ {
			key := fmt.Sprintf("k:key-%d", k)
			prev[key] = a.Subset("eth/default", key, epoch, nodes)
		}
		for k := 0; k < keys; k++ {
			key := fmt.Sprintf("k:key-%d", k)
			sub := a.Subset("eth/default", key, epoch, nodes)
			if len(sub) != size {
				t.Fatalf("epoch %d key %s: %d nodes, want %d", epoch, key, len(sub), size)
			}
			if !slices.Equal(sub, prev[key]) {
				t.Fatalf("epoch %d key %s: %v then %v", epoch, key, prev[key], sub)
			}
			for _, n := range sub {
				load[n]++
			}
		}
		for k := 0; k < keys; k++ {
			key := fmt.Sprintf("k:key-%d", k)
			if !slices.Equal(prev[key], a.Subset("eth/default", key, epoch+1, nodes)) {
				moved++
			}
		}
		mean := float64(keys*size) / float64(len(nodes))
		for n, l := range load {
			if float64(l) > 1.5*mean {
				t.Errorf("epoch %d: %s carries %d sessions, more than 1.5 x the mean %.1f: %v", epoch, n, l, mean, load)
			}
		}
		if moved == 0 {
			t.Errorf("epoch %d -> %d: no key's subset changed", epoch, epoch+1)
		}
	}
}

// TestRendezvousAloneIsUnbalanced pins why Assigner bounds loads: plain
// rendezvous hashing of 20 keys over 6 nodes puts more than 1.5x the mean
// on some node in some epoch.
func TestRendezvousAloneIsUnbalanced(t *testing.T) {
	t.Parallel()
	nodes := names(6)
	for epoch := uint64(0); epoch < 50; epoch++ {
		load := map[string]int{}
		for k := 0; k < 20; k++ {
			for _, n := range Subset(fmt.Sprintf("k:key-%d", k), epoch, nodes, id, 3) {
				load[n]++
			}
		}
		for _, l := range load {
			if float64(l) > 1.5*10 {
				return
			}
		}
	}
	t.Error("no epoch was unbalanced; the load bound may be unnecessary")
}

// TestAssignerNodeLeaves: a key whose subset lost a node gets a new one
// without it; others keep theirs.
func TestAssignerNodeLeaves(t *testing.T) {
	t.Parallel()
	a := NewAssigner(2)
	nodes := names(5)
	before := map[string][]string{}
	for k := 0; k < 30; k++ {
		key := fmt.Sprint(k)
		before[key] = a.Subset("g", key, 7, nodes)
	}
	fewer := slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == "node-2" })
	for key, sub := range before {
		after := a.Subset("g", key, 7, fewer)
		switch {
		case slices.Contains(after, "node-2"):
			t.Fatalf("%s still has the node that left: %v", key, after)
		case !slices.Contains(sub, "node-2") && !slices.Equal(sub, after):
			t.Fatalf("%s moved although its nodes stayed: %v -> %v", key, sub, after)
		}
	}
}

// TestSubsetMinimalDisruption: removing a node moves only the keys whose
// subset held it.
func TestSubsetMinimalDisruption(t *testing.T) {
	t.Parallel()
	nodes := names(8)
	fewer := slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == "node-3" })
	for k := 0; k < 200; k++ {
		key := fmt.Sprintf("ip:10.0.0.%d", k)
		before, after := Subset(key, 1, nodes, id, 3), Subset(key, 1, fewer, id, 3)
		if !slices.Contains(before, "node-3") && !slices.Equal(before, after) {
			t.Fatalf("%s: %v -> %v although node-3 was not in it", key, before, after)
		}
	}
}

func TestSubsetOff(t *testing.T) {
	t.Parallel()
	nodes := names(3)
	if got := Subset("k", 0, nodes, id, 0); len(got) != 3 {
		t.Errorf("size 0: %v", got)
	}
	if got := Subset("k", 0, nodes, id, 5); len(got) != 3 {
		t.Errorf("size above the set: %v", got)
	}
}

func TestKeyOf(t *testing.T) {
	t.Parallel()
	ip := netip.MustParseAddr("10.1.2.3")
	for _, c := range []struct{ hdr, key, want string }{
		{"abc", "alice", "s:abc"}, {"", "alice", "k:alice"}, {"", "", "ip:10.1.2.3"},
	} {
		if got := KeyOf(c.hdr, c.key, ip); got != c.want {
			t.Errorf("KeyOf(%q, %q): %q, want %q", c.hdr, c.key, got, c.want)
		}
	}
	if KeyOf("", "", netip.Addr{}) != "" {
		t.Error("no identity should be no session")
	}
}

func TestTracker(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	tr := NewTracker(10 * time.Second)
	tr.Wrote("k:a", "n1", now)
	if n, ok := tr.Pinned("k:a", now.Add(5*time.Second)); !ok || n != "n1" {
		t.Errorf("within the window: %q %v", n, ok)
	}
	if _, ok := tr.Pinned("k:b", now); ok {
		t.Error("a key that never wrote is pinned")
	}
	if _, ok := tr.Pinned("k:a", now.Add(11*time.Second)); ok {
		t.Error("pinned after the window")
	}
	if tr.Len() != 0 {
		t.Errorf("expired key kept: %d", tr.Len())
	}
}

func TestPendingRead(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		m, p string
		want bool
	}{
		{"eth_getTransactionReceipt", `["0x1"]`, true},
		{"eth_getTransactionByHash", `["0x1"]`, true},
		{"eth_getTransactionCount", `["0xabc", "pending"]`, true},
		{"eth_getTransactionCount", `["0xabc","latest"]`, false},
		{"eth_call", `[{}, "pending"]`, true},
		{"eth_call", `[{}]`, false},
		{"eth_getBalance", `["0xabc","pending"]`, false},
		{"eth_getTransactionCount", `not json`, false},
	} {
		if got := PendingRead(c.m, []byte(c.p)); got != c.want {
			t.Errorf("%s %s: %v", c.m, c.p, got)
		}
	}
}
