package analytics

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/relay"
)

func record(at time.Time, key, method string, d time.Duration, out relay.Outcome, status int) *relay.Record {
	r := &relay.Record{Start: at, Duration: d, Chain: "eth", Key: key, Plan: "p-" + key, Method: method,
		Outcome: out, Status: status, ParamsHash: 0xabc, Winner: "a"}
	r.AddAttempt(relay.Attempt{Node: "a", Latency: d, Outcome: out})
	return r
}

// scriptedMix: many fast eth_call from A, a few slow eth_getLogs from B,
// failing calls from C.
func scriptedMix(rec *Recorder, now time.Time) {
	for i := range 200 {
		rec.Offer(record(now.Add(-time.Duration(i)*time.Second), "A", "eth_call", 2*time.Millisecond, relay.OutcomeOK, 200))
	}
	for i := range 10 {
		rec.Offer(record(now.Add(-time.Duration(i)*time.Second), "B", "eth_getLogs", 800*time.Millisecond, relay.OutcomeOK, 200))
	}
	for i := range 30 {
		rec.Offer(record(now.Add(-time.Duration(i)*time.Second), "C", "eth_getBalance", time.Millisecond, relay.OutcomeFailed, 503))
	}
}

func TestReportRanksTheScriptedMix(t *testing.T) {
	t.Parallel()
	now := time.Now()
	rec := New(nil, func() time.Time { return now })
	scriptedMix(rec, now)
	a, err := rec.Snapshot("15m")
	if err != nil {
		t.Fatal(err)
	}
	rep := Build("15m", now, a)
	checkRanking(t, rep)
	if _, err := rec.Snapshot("5m"); err != ErrWindow {
		t.Fatalf("window 5m: %v, want ErrWindow", err)
	}
}

func checkRanking(t *testing.T, rep Report) {
	t.Helper()
	if got := rep.Keys.ByCalls[0].Name; got != "A" {
		t.Errorf("first key by calls = %s, want A", got)
	}
	if got := rep.Keys.ByP99[0].Name; got != "B" {
		t.Errorf("first key by p99 = %s, want B", got)
	}
	if got := rep.Keys.ByErrors[0].Name; got != "C" {
		t.Errorf("first key by errors = %s, want C", got)
	}
	if got := rep.Keys.By503[0].Name; got != "C" {
		t.Errorf("first key by 503s = %s, want C", got)
	}
	if len(rep.Chains) != 1 || rep.Chains[0].ByCalls[0].Method != "eth_call" || rep.Chains[0].ByP99[0].Method != "eth_getLogs" ||
		rep.Chains[0].ByErrors[0].Method != "eth_getBalance" {
		t.Errorf("method rankings wrong: %+v", rep.Chains)
	}
	if len(rep.Slow) == 0 || rep.Slow[0].Method != "eth_getLogs" || rep.Slow[0].Node != "a" || rep.Slow[0].ParamsHash == "" {
		t.Errorf("slowest = %+v, want eth_getLogs on a with its params hash", rep.Slow)
	}
}

// TestHandlerJSONAndPageAgree: the JSON ranks like Build, the page shows
// the same first rows, and bad windows are a 400.
func TestHandlerJSONAndPageAgree(t *testing.T) {
	t.Parallel()
	now := time.Now()
	rec := New(nil, func() time.Time { return now })
	scriptedMix(rec, now)
	srv := httptest.NewServer(&Handler{Rec: rec})
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get(JSONPath + "?window=15m")
	if code != 200 {
		t.Fatalf("json: %d %s", code, body)
	}
	var rep Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	checkRanking(t, rep)
	code, page := get(PagePath + "?window=15m")
	if code != 200 {
		t.Fatalf("page: %d %s", code, page)
	}
	for table, first := range map[string]string{"keys-calls": "A", "keys-p99": "B", "keys-errors": "C"} {
		i := strings.Index(page, `data-table="`+table+`"`)
		if i < 0 || !strings.Contains(page[i:], "<tr><td>"+first+"</td>") ||
			strings.Index(page[i:], "<tr><td>"+first+"</td>") > strings.Index(page[i:], "</tbody>") {
			t.Errorf("page table %s does not start with %s", table, first)
		}
		j := strings.Index(page[i:], "<tbody>")
		if !strings.HasPrefix(strings.TrimSpace(page[i+j+len("<tbody>"):]), "<tr><td>"+first+"</td>") {
			t.Errorf("page table %s: first row is not %s", table, first)
		}
	}
	for _, bad := range []string{"?window=5m", "?window=", "?format=xml", "?window=%00"} {
		if bad == "?window=" {
			continue // empty means the default
		}
		if code, _ := get(PagePath + bad); code != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", bad, code)
		}
	}
}

// TestRecorderMemoryBound feeds 100,000 distinct keys and 10,000 unknown
// method names (each with its own plan and node name): the recorder holds
// no more than its documented MaxEntries, every slot within its caps, and
// the overflow is counted under "other", not lost.
func TestRecorderMemoryBound(t *testing.T) {
	t.Parallel()
	now := time.Now()
	rec := New(nil, func() time.Time { return now })
	const keys, methods = 100_000, 10_000
	for i := range keys {
		r := record(now.Add(-time.Duration(i%600)*time.Second), fmt.Sprint("key-", i), fmt.Sprint("m_", i%methods), time.Millisecond, relay.OutcomeOK, 200)
		r.Plan = fmt.Sprint("plan-", i)
		rec.Offer(r)
	}
	entries, slots := rec.Size()
	if entries > MaxEntries || slots > MaxSlots {
		t.Fatalf("%d entries in %d slots, over the bound %d entries, %d slots", entries, slots, MaxEntries, MaxSlots)
	}
	if b := rec.Bytes(); b > MaxBytes || MaxBytes > 8<<20 {
		t.Fatalf("recorder holds ~%d bytes; bound %d (documented under 8 MiB)", b, MaxBytes)
	}
	// Names longer than MaxName are cut, so entries stay bounded in size.
	long := record(now, strings.Repeat("k", 10*MaxName), strings.Repeat("m", 10*MaxName), time.Millisecond, relay.OutcomeOK, 200)
	before := rec.Bytes()
	rec.Offer(long)
	if grew := rec.Bytes() - before; grew > 3*(tenantBytes+MaxName)+methodBytes+2*MaxName+nodeBytes+2*MaxName+slowBytes+4*MaxName {
		t.Fatalf("one record with long names grew the recorder by %d bytes", grew)
	}
	rec.mu.Lock()
	for _, ring := range rec.rings {
		for _, s := range ring {
			if len(s.methods) > MaxMethodsPerSlot || len(s.keys) > MaxKeysPerSlot || len(s.plans) > MaxPlansPerSlot ||
				len(s.nodes) > MaxNodesPerSlot || len(s.slow) > SlowPerSlot {
				t.Errorf("slot %v over its caps: %d methods, %d keys, %d plans, %d nodes, %d slow",
					s.start, len(s.methods), len(s.keys), len(s.plans), len(s.nodes), len(s.slow))
			}
		}
	}
	rec.mu.Unlock()
	a, _ := rec.Snapshot("24h")
	var calls int64
	for _, k := range a.Keys {
		calls += k.Calls
	}
	if calls != keys+1 { // plus the long-named record
		t.Fatalf("keys total %d calls, want %d (overflow must be counted as other)", calls, keys+1)
	}
	rep := Build("24h", now, a)
	if n := len(rep.Keys.ByCalls); n != TopN+1 || rep.Keys.ByCalls[TopN].Name != Other {
		t.Fatalf("report lists %d keys, want the top %d and other", n, TopN)
	}
	b, _ := json.Marshal(rep)
	if len(b) > 64<<10 {
		t.Fatalf("report is %d bytes; the top-N tables should keep it small", len(b))
	}
}

// TestNodesShareHedgesDisputes: node rows come from the record's attempts.
func TestNodesShareHedgesDisputes(t *testing.T) {
	t.Parallel()
	now := time.Now()
	rec := New(nil, func() time.Time { return now })
	for range 3 {
		r := &relay.Record{Start: now, Chain: "eth", Method: "eth_call", Outcome: relay.OutcomeOK, Winner: "a"}
		r.AddAttempt(relay.Attempt{Node: "a", Outcome: relay.OutcomeOK, Vote: relay.VoteAgree})
		r.AddAttempt(relay.Attempt{Node: "b", Outcome: relay.OutcomeTimeout, Hedge: true, Vote: relay.VoteDispute})
		r.AddAttempt(relay.Attempt{Node: "a", Outcome: relay.OutcomeOK})
		rec.Offer(r)
	}
	a, _ := rec.Snapshot("1h")
	rep := Build("1h", now, a)
	if len(rep.Nodes) != 2 {
		t.Fatalf("nodes %+v, want a and b", rep.Nodes)
	}
	na, nb := rep.Nodes[0], rep.Nodes[1]
	if na.Node != "a" || na.Attempts != 6 || na.Share < 0.66 || na.Share > 0.67 || na.Errors != 0 {
		t.Errorf("a = %+v, want 6 attempts, share 2/3, no errors", na)
	}
	if nb.Node != "b" || nb.Attempts != 3 || nb.Errors != 3 || nb.Hedges != 3 || nb.Disputes != 3 {
		t.Errorf("b = %+v, want 3 attempts, errors, hedges and disputes", nb)
	}
}
