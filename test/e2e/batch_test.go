package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestBatchMixedGroupsInOrder(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	f.Mine(2)
	installContracts(f)
	direct := dial(t, f.Node("a").URL)
	emitLogs(t, f, direct, []byte("one"), []byte("two"))
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{Groups: map[string]GroupSpec{
		"default": {Nodes: []string{"a", "b"}},
		"logs":    {Methods: []string{"eth_getLogs"}, Nodes: []string{"c"}, Fallback: "default"},
	}})

	logsAll := fmt.Sprintf(`[{"fromBlock":"0x0","toBlock":"latest","address":%q}]`, emitterAddress.Hex())
	logsTopic := fmt.Sprintf(`[{"fromBlock":"0x0","toBlock":"latest","topics":[%q]}]`, eventTopic.Hex())
	items := []struct{ id, method, params string }{
		{`1`, "eth_blockNumber", `[]`},
		{`"two"`, "eth_getLogs", logsAll},
		{`null`, "eth_chainId", `[]`}, // an id of null is a call, not a notification
		{`4.0`, "eth_getBalance", fmt.Sprintf(`[%q,"latest"]`, devAddress.Hex())},
		{`"x"`, "eth_getLogs", logsTopic},
	}
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":%q,"params":%s}`, it.id, it.method, it.params)
	}
	body := "[" + strings.Join(parts, ",") + "]"

	ResetAll(ps)
	status, _, data := g.post(context.Background(), "/eth", []byte(body))
	if status != http.StatusOK {
		t.Fatalf("HTTP %d: %s", status, data)
	}
	got := parseBatch(t, data)
	if len(got) != len(items) {
		t.Fatalf("%d responses for %d calls: %s", len(got), len(items), data)
	}
	for i, it := range items {
		r := got[i]
		if !r.HasID || string(r.ID) != it.id {
			t.Errorf("response %d: id %s (present %v), want %s byte for byte (responses must keep request order)", i, r.ID, r.HasID, it.id)
		}
		if r.JSONRPC != "2.0" {
			t.Errorf("response %d: jsonrpc %q", i, r.JSONRPC)
		}
		if r.Error != nil {
			t.Errorf("response %d (%s): error %v", i, it.method, r.Error)
			continue
		}
		var params []any
		if err := json.Unmarshal([]byte(it.params), &params); err != nil {
			t.Fatal(err)
		}
		want, err := f.Node("a").Call(context.Background(), it.method, params...)
		if err != nil {
			t.Fatalf("direct %s: %v", it.method, err)
		}
		if compact(t, r.Result) != compact(t, want) {
			t.Errorf("response %d (%s): result %s, direct %s", i, it.method, r.Result, want)
		}
		if it.method == "eth_getLogs" && compact(t, want) == "[]" {
			t.Fatalf("fixture broken: %s found no logs", it.params)
		}
	}
	if n := ps["c"].Count("eth_getLogs"); n != 2 {
		t.Errorf("logs node c saw %d eth_getLogs, want 2", n)
	}
	for _, name := range []string{"a", "b"} {
		if n := ps[name].Count("eth_getLogs"); n != 0 {
			t.Errorf("default node %s saw %d eth_getLogs, want 0 (they belong to group logs)", name, n)
		}
	}
	if n := ps["c"].Count("eth_getBalance"); n != 0 {
		t.Errorf("logs node c saw %d eth_getBalance, want 0 (default group is a, b)", n)
	}
}
