package summary

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/relay"
)

func testRecord(method string) *relay.Record {
	r := relay.Get()
	r.ID = "req-1"
	r.Start = time.Date(2026, 12, 1, 3, 0, 0, 123456789, time.UTC)
	r.Duration = 1500 * time.Microsecond
	r.Transport = "http"
	r.Chain, r.Group, r.Key, r.Plan = "eth", "default", "alice", "pro"
	r.Method, r.Methods = method, method
	r.ParamsHash = 0xdeadbeef
	r.Outcome, r.Status, r.Bytes = relay.OutcomeOK, 200, 42
	r.AddAttempt(relay.Attempt{Node: "a", Latency: 700 * time.Microsecond, Outcome: relay.OutcomeTimeout, ErrKind: "timeout"})
	r.AddAttempt(relay.Attempt{Node: "b", Latency: 800 * time.Microsecond, Outcome: relay.OutcomeOK, Bytes: 40, Hedge: true})
	return r
}

// The encoder writes what Decode (encoding/json) reads back, field for
// field, including strings that need escaping.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	r := testRecord("eth_call")
	defer relay.Put(r)
	r.Key = "we\"ird\\\n<key>\u2028\xff"
	ids := NewIDSource()
	e := newEntry(ids.New(r.Start), r)
	data := e.appendJSON(nil)
	if !json.Valid(data) {
		t.Fatalf("not JSON: %s", data)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.V != Version || got.ID != e.id.String() || len(got.ID) != 26 || got.RequestID != "req-1" {
		t.Errorf("v/id/request_id: %+v", got)
	}
	if !got.Time.Equal(r.Start) || got.Chain != "eth" || got.Group != "default" || got.Plan != "pro" || got.Method != "eth_call" {
		t.Errorf("fields: %+v", got)
	}
	if got.Key != "we\"ird\\\n<key>\u2028\ufffd" {
		t.Errorf("key %q", got.Key)
	}
	if got.Outcome != "ok" || got.LatencyMS != 1.5 || got.Bytes != 42 || got.Status != 200 || got.ParamsHash != "00000000deadbeef" {
		t.Errorf("outcome fields: %+v", got)
	}
	want := []Attempt{{Node: "a", LatencyMS: 0.7, Outcome: "timeout", Err: "timeout"}, {Node: "b", LatencyMS: 0.8, Outcome: "ok", Bytes: 40, Hedge: true}}
	if len(got.Attempts) != 2 || got.Attempts[0] != want[0] || got.Attempts[1] != want[1] {
		t.Errorf("attempts %+v, want %+v", got.Attempts, want)
	}
	if e.class() != "read" {
		t.Errorf("class %q", e.class())
	}
}

func TestBatchRecordHasMethods(t *testing.T) {
	t.Parallel()
	r := testRecord("batch")
	defer relay.Put(r)
	r.Methods, r.Batch = "eth_call,eth_getBalance", 2
	e := newEntry(NewIDSource().New(r.Start), r)
	got, err := Decode(e.appendJSON(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != "" || len(got.Methods) != 2 || got.Methods[1] != "eth_getBalance" || got.Batch != 2 || got.MethodName() != "batch" || e.class() != "batch" {
		t.Errorf("batch: %+v class %s", got, e.class())
	}
}

func TestIDsAreDistinctAndSortByTime(t *testing.T) {
	t.Parallel()
	s := NewIDSource()
	t0 := time.Now()
	seen := map[string]bool{}
	prev := ""
	for i := 0; i < 10000; i++ {
		id := s.New(t0.Add(time.Duration(i) * time.Millisecond)).String()
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		if id <= prev {
			t.Fatalf("%s sorts before %s", id, prev)
		}
		prev = id
	}
}

func TestDecodeRejectsOtherVersionsAndShapes(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`{"v":2,"id":"x","outcome":"ok"}`, `{"v":1,"outcome":"ok"}`, `{"v":1,"id":"x"}`, `[]`, `{`} {
		if _, err := Decode([]byte(in)); err == nil {
			t.Errorf("%s decoded", in)
		}
	}
}

func TestSamplerKeepsErrorsWritesBatchesAndSlowCalls(t *testing.T) {
	t.Parallel()
	s := &Sampler{Rate: 0, Slow: time.Second}
	r := testRecord("eth_call")
	defer relay.Put(r)
	if s.Keep(r) {
		t.Error("ordinary success kept at rate 0")
	}
	r.Outcome = relay.OutcomeRPCError
	if !s.Keep(r) {
		t.Error("error dropped")
	}
	r.Outcome = relay.OutcomeOK
	r.Duration = 2 * time.Second
	if !s.Keep(r) {
		t.Error("slow call dropped")
	}
	r.Duration = 0
	r.Methods = "eth_sendRawTransaction"
	if !s.Keep(r) {
		t.Error("broadcast dropped")
	}
	r.Methods, r.Batch = "eth_call", 3
	if !s.Keep(r) {
		t.Error("batch dropped")
	}
	r.Batch = 0
	s.Chains = map[string]float64{"eth": 1}
	if !s.Keep(r) {
		t.Error("per-chain rate 1 dropped")
	}
}
