package balance

import (
	"testing"

	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/nodespec"
)

func newNode(t *testing.T, name string, weight int) *node.Node {
	t.Helper()
	n, err := node.New(nodespec.Spec{Name: name, URL: "http://127.0.0.1:1", Weight: weight, Workers: 4, Queue: 4}, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Equal nodes share picks evenly: no node is starved by noise.
func TestP2CSpreadsEqualNodes(t *testing.T) {
	t.Parallel()
	cands := []*node.Node{newNode(t, "a", 1), newNode(t, "b", 1), newNode(t, "c", 1)}
	counts := map[string]int{}
	const picks = 30000
	for i := 0; i < picks; i++ {
		counts[P2C{}.Select(cands).Name()]++
	}
	for _, n := range cands {
		if c := counts[n.Name()]; c < picks/4 || c > picks/2 {
			t.Errorf("node %s got %d of %d picks; want about a third (%v)", n.Name(), c, picks, counts)
		}
	}
}

// A heavier node wins comparisons against a lighter one of equal latency
// once its weight makes its score clearly lower.
func TestP2CPrefersWeight(t *testing.T) {
	t.Parallel()
	heavy, light := newNode(t, "heavy", 4), newNode(t, "light", 1)
	cands := []*node.Node{heavy, light}
	counts := map[string]int{}
	for i := 0; i < 20000; i++ {
		counts[P2C{}.Select(cands).Name()]++
	}
	if counts["heavy"] <= counts["light"]*3 {
		t.Errorf("heavy %d light %d: weight 4 should take most picks", counts["heavy"], counts["light"])
	}
	if counts["light"] == 0 {
		t.Error("light node never picked: exploration must keep it measured")
	}
}

func TestP2CEdgeCases(t *testing.T) {
	t.Parallel()
	if (P2C{}).Select(nil) != nil {
		t.Error("no candidates must give nil")
	}
	a := newNode(t, "a", 1)
	if (P2C{}).Select([]*node.Node{a}) != a {
		t.Error("a single candidate must be picked")
	}
}
