package execute

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/fleet"
	"github.com/rpcgate/rpcgate/internal/jsonrpc"
	"github.com/rpcgate/rpcgate/internal/node"
	"github.com/rpcgate/rpcgate/internal/relay"
)

func status(code int) func(http.ResponseWriter, []byte) bool {
	return func(w http.ResponseWriter, _ []byte) bool {
		w.WriteHeader(code)
		return true
	}
}

func TestFailedThenRetriedShowsTwoAttempts(t *testing.T) {
	t.Parallel()
	a, b := startNode(t), startNode(t)
	a.set(status(http.StatusBadGateway))
	c := testChain(t, a, b, "")
	ans, rec := call(t, New(nil), c, `{"jsonrpc":"2.0","id":7,"method":"eth_getBalance","params":["0x00","latest"]}`)
	defer ans.Release()
	if ans.Err != nil || ans.Outcome != relay.OutcomeOK || !strings.Contains(string(ans.Body), `"id":7`) {
		t.Fatalf("answer %s err %v outcome %v", ans.Body, ans.Err, ans.Outcome)
	}
	if got := outcomes(rec); got != "a:transport b:ok" {
		t.Fatalf("attempts %q, want a:transport b:ok", got)
	}
	at := rec.Attempts()
	if at[0].ErrKind != "HTTP 502" || at[1].Bytes == 0 || at[1].Start.Before(at[0].Start) {
		t.Errorf("attempts %+v", at)
	}
}

func TestRPCErrorOutcome(t *testing.T) {
	t.Parallel()
	a, b := startNode(t), startNode(t)
	a.set(func(w http.ResponseWriter, _ []byte) bool {
		_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted"}}`))
		return true
	})
	c := testChain(t, a, b, "")
	ans, rec := call(t, New(nil), c, `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{},"latest"]}`)
	defer ans.Release()
	if ans.Outcome != relay.OutcomeRPCError || ans.Err != nil {
		t.Fatalf("outcome %v err %v, want rpc_error from the node", ans.Outcome, ans.Err)
	}
	if at := rec.Attempts(); len(at) != 1 || at[0].Outcome != relay.OutcomeRPCError || at[0].Code != 3 {
		t.Fatalf("attempts %+v", at)
	}
	if b.count() != 0 {
		t.Fatal("a revert is final; it must not be retried on b")
	}
}

// Regression (issue 7): a notification was sent to every node, its empty
// answer (geth: HTTP 200, no body) counted as a malformed response.
func TestNotificationSentOnceEmptyBodyIsSuccess(t *testing.T) {
	t.Parallel()
	a, b := startNode(t), startNode(t)
	empty := func(w http.ResponseWriter, _ []byte) bool { return true } // 200, no body
	a.set(empty)
	b.set(empty)
	c := testChain(t, a, b, "")
	e := New(nil)
	for i := 0; i < 20; i++ {
		ans, rec := call(t, e, c, `{"jsonrpc":"2.0","method":"eth_getBalance","params":["0x00","latest"]}`)
		if ans.Err != nil || ans.Outcome != relay.OutcomeOK || len(rec.Attempts()) != 1 {
			t.Fatalf("notification %d: err %v outcome %v attempts %q", i, ans.Err, ans.Outcome, outcomes(rec))
		}
		ans.Release()
	}
	if a.count()+b.count() != 20 || errorsOf(c) != 0 {
		t.Fatalf("20 notifications: a saw %d, b saw %d (want 20 in all); node errors %d (want 0)", a.count(), b.count(), errorsOf(c))
	}

	// A notification whose exchange broke after sending is not resent.
	a.set(status(http.StatusBadGateway))
	ans, rec := call(t, e, c, `{"jsonrpc":"2.0","method":"eth_getBalance","params":["0x00","latest"]}`)
	ans.Release()
	if got := outcomes(rec); got != "a:transport" || b.count() != 0 {
		t.Fatalf("attempts %q, b saw %d: a notification must reach one node only", got, b.count())
	}
}

func TestNotificationOnlyBatchOneRequest(t *testing.T) {
	t.Parallel()
	a, b := startNode(t), startNode(t)
	a.set(func(w http.ResponseWriter, _ []byte) bool { return true })
	c := testChain(t, a, b, "")
	body := `[{"jsonrpc":"2.0","method":"eth_blockNumber"},{"jsonrpc":"2.0","method":"eth_chainId"}]`
	res, rec := batch(t, New(nil), c, body)
	defer res.Release()
	if out, any := res.AppendTo(nil); any {
		t.Fatalf("notifications answered: %s", out)
	}
	if a.count() != 1 || b.count() != 0 || errorsOf(c) != 0 || outcomes(rec) != "a:ok" {
		t.Fatalf("a saw %d, b %d, errors %d, attempts %q; want one request to a, no errors", a.count(), b.count(), errorsOf(c), outcomes(rec))
	}
}

func batch(t *testing.T, e *Executor, c *fleet.Chain, body string) (*BatchResult, *relay.Record) {
	t.Helper()
	rec := relay.Get()
	t.Cleanup(func() { relay.Put(rec) })
	reqs, _, err := jsonrpc.Decode([]byte(body), 0)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]Item, len(reqs))
	for i := range reqs {
		items[i].Req = &reqs[i]
		items[i].Group = c.Group(reqs[i].Method)
	}
	return e.Batch(context.Background(), c, 0, items, rec), rec
}

// Issue 8 "also fix": anvil answers a batch holding one unknown method
// with one error object for the whole batch; every element got -32002.
func TestWholeBatchErrorAnsweredPerElement(t *testing.T) {
	t.Parallel()
	a, b := startNode(t), startNode(t)
	whole := func(w http.ResponseWriter, body []byte) bool {
		s := string(body)
		if strings.HasPrefix(s, "[") && strings.Contains(s, "bad_method") {
			_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"unknown variant bad_method"}}`))
			return true
		}
		if strings.Contains(s, "bad_method") {
			_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"method not found"}}`))
			return true
		}
		return false
	}
	a.set(whole)
	b.set(whole)
	c := testChain(t, a, b, "")
	res, _ := batch(t, New(nil), c, `[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},{"jsonrpc":"2.0","id":"x","method":"bad_method"},{"jsonrpc":"2.0","id":3,"method":"eth_chainId"}]`)
	defer res.Release()
	out, _ := res.AppendTo(nil)
	var got []struct {
		ID     json.RawMessage
		Result json.RawMessage
		Error  *struct{ Code int }
	}
	if err := json.Unmarshal(out, &got); err != nil || len(got) != 3 {
		t.Fatalf("answer %s: %v", out, err)
	}
	if string(got[0].Result) != `"0x1"` || string(got[2].Result) != `"0x1"` || got[1].Error == nil || got[1].Error.Code != -32601 {
		t.Fatalf("answer %s: want results for 1 and 3 and the node's -32601 for x", out)
	}
	if res.Items[1].Outcome() != fleet.OutcomeRPCError || res.Items[0].Outcome() != fleet.OutcomeOK {
		t.Fatalf("outcomes %v %v", res.Items[0].Outcome(), res.Items[1].Outcome())
	}
}

// Regression (issue 8 defect 2): a node refusing a request (HTTP 413) was
// counted as failing, so clients could eject nodes with large calls.
func TestRefusalNotCountedAgainstNode(t *testing.T) {
	t.Parallel()
	a, b := startNode(t), startNode(t)
	a.set(func(w http.ResponseWriter, _ []byte) bool {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_, _ = w.Write([]byte("request body too large"))
		return true
	})
	b.set(a.handle)
	c := testChain(t, a, b, "")
	e := New(nil)
	for i := 0; i < 10; i++ {
		ans, _ := call(t, e, c, `{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x00","latest"]}`)
		if ans.Err == nil || ans.Err.HTTPStatus != http.StatusRequestEntityTooLarge || ans.Err.Code != -32600 {
			t.Fatalf("answer %+v, want HTTP 413 -32600", ans.Err)
		}
		ans.Release()
	}
	if errorsOf(c) != 0 || !c.Selectable(c.Node("a")) || !c.Selectable(c.Node("b")) {
		t.Fatalf("refusals counted: errors %d, a %v, b %v", errorsOf(c), c.Node("a").State(), c.Node("b").State())
	}
}

// Issue 8 defect 2: a body above the node's limit never leaves the
// gateway and gets a clear error.
func TestRequestAboveNodeLimitNotSent(t *testing.T) {
	t.Parallel()
	a, b := startNode(t), startNode(t)
	c := testChain(t, a, b, "")
	pad := strings.Repeat("0", node.DefaultMaxRequestBytes)
	ans, rec := call(t, New(nil), c, `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"data":"0x`+pad+`"},"latest"]}`)
	defer ans.Release()
	if ans.Err == nil || ans.Err.HTTPStatus != http.StatusRequestEntityTooLarge || ans.Err.Code != -32600 ||
		!strings.Contains(ans.Err.Message, "5242880") {
		t.Fatalf("answer %+v", ans.Err)
	}
	if a.count()+b.count() != 0 || errorsOf(c) != 0 {
		t.Fatalf("nodes saw %d requests, errors %d; want none", a.count()+b.count(), errorsOf(c))
	}
	if len(rec.Attempts()) != 2 {
		t.Fatalf("attempts %q", outcomes(rec))
	}
}

// Issue 8 defect 4: a frozen node costs a read one attempt timeout, not
// the whole deadline.
func TestAttemptTimeoutMovesReadOn(t *testing.T) {
	t.Parallel()
	a, b := startNode(t), startNode(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	a.set(func(w http.ResponseWriter, _ []byte) bool { <-release; return true })
	c := testChain(t, a, b, "    timeout: 60s\n    attempt_timeout: {min: 50ms, max: 100ms}\n")
	waitFor(t, "a's attempt timeout", func() bool { return c.Node("a").AttemptTimeout() > 0 })
	e := New(nil)
	e.Strategy = FirstGood{} // the attempt timeout, not a hedge, moves this read on
	ans, rec := call(t, e, c, `{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x00","latest"]}`)
	defer ans.Release()
	if ans.Err != nil || outcomes(rec) != "a:timeout b:ok" {
		t.Fatalf("err %v attempts %q, want a:timeout b:ok", ans.Err, outcomes(rec))
	}
	// A write is never abandoned: it would have to fail, not move on.
	w := relay.Get()
	defer relay.Put(w)
	done := make(chan Answer, 1)
	req := decode(t, `{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x00"]}`)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	go func() { done <- New(nil).Single(ctx, c, c.Group(req.Method), 0, req, req.Raw, w) }()
	wa := <-done
	wa.Release()
	if b.count() != 1 {
		t.Fatalf("a write reached b after a stalled: b saw %d requests", b.count()-1)
	}
}

// The engine runs attempts side by side (Hedge): the first good answer
// wins, the loser is abandoned and its worker slot is free at once, while
// its node still holds the request.
func TestHedgeLoserFreesSlot(t *testing.T) {
	t.Parallel()
	a, b := startNode(t), startNode(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	holding := make(chan struct{})
	var once sync.Once
	a.set(func(w http.ResponseWriter, _ []byte) bool {
		once.Do(func() { close(holding) })
		<-release
		return true
	})
	// b answers only once a really holds its request, so the hedge always
	// wins against an attempt in flight.
	b.set(func(w http.ResponseWriter, _ []byte) bool { <-holding; return false })
	c := testChain(t, a, b, "")
	e := New(nil)
	e.Strategy = Hedge{Delay: time.Millisecond}
	ans, rec := call(t, e, c, `{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x00","latest"]}`)
	defer ans.Release()
	if ans.Err != nil || ans.Node != "b" {
		t.Fatalf("answer from %q err %v", ans.Node, ans.Err)
	}
	if got := outcomes(rec); got != "a:canceled b:ok(hedge)" {
		t.Fatalf("attempts %q, want a:canceled b:ok(hedge)", got)
	}
	if n := c.Node("a").Slots().InUse(); n != 0 {
		t.Fatalf("a still holds %d worker slots after its attempt was abandoned", n)
	}
	if c.Node("a").InFlight() != 0 || errorsOf(c) != 0 {
		t.Fatalf("a in flight %d, errors %d", c.Node("a").InFlight(), errorsOf(c))
	}
	// A write is never hedged.
	w := relay.Get()
	defer relay.Put(w)
	req := decode(t, `{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x00"]}`)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	before := b.count()
	wa := e.Single(ctx, c, c.Group(req.Method), 0, req, req.Raw, w)
	wa.Release()
	if b.count() != before {
		t.Fatalf("a write was hedged to b")
	}
}

// A notification inside a batch reaches one node once: when the part
// carrying it fails after sending, the retry carries only the calls.
func TestBatchNotificationNotResent(t *testing.T) {
	t.Parallel()
	a, b := startNode(t), startNode(t)
	a.set(status(http.StatusBadGateway))
	b.set(func(w http.ResponseWriter, body []byte) bool {
		_, _ = w.Write([]byte(`[{"jsonrpc":"2.0","id":0,"result":"0x1"}]`))
		return true
	})
	c := testChain(t, a, b, "")
	res, rec := batch(t, New(nil), c, `[{"jsonrpc":"2.0","id":9,"method":"eth_blockNumber"},{"jsonrpc":"2.0","method":"eth_gasPrice"}]`)
	defer res.Release()
	out, _ := res.AppendTo(nil)
	if string(out) != `[{"jsonrpc":"2.0","id":9,"result":"0x1"}]` || outcomes(rec) != "a:transport b:ok" {
		t.Fatalf("answer %s attempts %q", out, outcomes(rec))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.bodies) != 1 || strings.Contains(b.bodies[0], "eth_gasPrice") {
		t.Fatalf("b got %q: the notification was resent", b.bodies)
	}
}

// Regression (found by the race detector in e2e): an attempt running in
// its own goroutine sent the client's body buffer, which the listener
// reuses for the next request as soon as this one is answered. An
// abandoned attempt must send bytes it owns: here the caller overwrites
// its body the moment Single returns, and every body a node received must
// still be the original call.
func TestAbandonedAttemptOwnsItsBody(t *testing.T) {
	t.Parallel()
	a, b := startNode(t), startNode(t)
	const orig = `{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x00","latest"]}`
	var mu sync.Mutex
	var bad []string
	check := func(body []byte) {
		if string(body) != orig {
			mu.Lock()
			bad = append(bad, string(body))
			mu.Unlock()
		}
	}
	a.set(func(w http.ResponseWriter, body []byte) bool { check(body); return false })
	b.set(func(w http.ResponseWriter, body []byte) bool { check(body); return false })
	c := testChain(t, a, b, "")
	e := New(nil)
	e.Strategy = Hedge{Delay: time.Microsecond}
	for i := 0; i < 200; i++ {
		buf := []byte(orig)
		reqs, _, derr := jsonrpc.Decode(buf, 1)
		if derr != nil {
			t.Fatal(derr)
		}
		rec := relay.Get()
		ans := e.Single(context.Background(), c, c.Group("eth_getBalance"), 0, &reqs[0], buf, rec)
		ans.Release()
		relay.Put(rec)
		for k := range buf { // the listener reuses the buffer
			buf[k] = 'X'
		}
	}
	waitFor(t, "every call to reach a node", func() bool { return a.count()+b.count() >= 200 })
	time.Sleep(50 * time.Millisecond) // let abandoned exchanges land
	mu.Lock()
	defer mu.Unlock()
	if len(bad) != 0 {
		t.Fatalf("%d node(s) received a body overwritten after the call was answered, e.g. %q", len(bad), bad[0])
	}
}
