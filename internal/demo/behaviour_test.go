package demo

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

var timeZero = time.Unix(1_700_000_000, 0)

func TestLaggyFallsBehindAndCatchesUp(t *testing.T) {
	t.Parallel()
	f := startFleet(t, Options{
		BlockTime: 20 * time.Millisecond,
		LagEvery:  100 * time.Millisecond,
		LagFor:    300 * time.Millisecond, // about 15 blocks behind
	})
	c := client(t)
	steadyURL, laggyURL := nodeURL(t, f, "steady"), nodeURL(t, f, "laggy")

	var behind uint64
	eventually(t, "laggy to fall 5 blocks behind", func() bool {
		l := blockNumber(t, c, laggyURL)
		s := blockNumber(t, c, steadyURL)
		behind = s - l
		return l+5 <= s
	})
	eventually(t, "laggy to catch up", func() bool {
		l := blockNumber(t, c, laggyURL)
		s := blockNumber(t, c, steadyURL)
		return l == s
	})
	t.Logf("laggy was %d blocks behind", behind)

	want := []string{"laggy: stopped following the head", "laggy: syncing again", "laggy: caught up at block"}
	for _, prefix := range want {
		select {
		case line := <-f.Events():
			if !strings.HasPrefix(line, prefix) {
				t.Errorf("event %q, want %q…", line, prefix)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no event %q…", prefix)
		}
	}
}

// TestLaggyServesOnlyWhatItHas checks that a lagging node answers for the
// blocks it lacks as geth does: null blocks, "header not found" for logs.
func TestLaggyServesOnlyWhatItHas(t *testing.T) {
	t.Parallel()
	c := newChain(1337, time.Second, timeZero)
	n := newNode("laggy", laggy, c, tuning{}, newEvents(slog.New(slog.DiscardHandler)), 1)
	n.view.Store(historyBlocks - 10)

	out := n.handle([]byte(`[
		{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},
		{"jsonrpc":"2.0","id":2,"method":"eth_getBlockByNumber","params":["0x3e8",false]},
		{"jsonrpc":"2.0","id":3,"method":"eth_getLogs","params":[{"fromBlock":"0x3d0","toBlock":"0x3e8"}]},
		{"jsonrpc":"2.0","id":4,"method":"eth_getBlockByNumber","params":["0x3de",false]}
	]`), false)
	var rs []response
	if err := json.Unmarshal(out, &rs); err != nil || len(rs) != 4 {
		t.Fatalf("answer %s: %v", out, err)
	}
	if got := string(rs[0].Result); got != `"0x3de"` {
		t.Errorf("eth_blockNumber = %s, want 0x3de", got)
	}
	if got := string(rs[1].Result); got != "null" {
		t.Errorf("block above its head = %s, want null", got)
	}
	if rs[2].Error == nil || rs[2].Error.Message != "header not found" {
		t.Errorf("logs above its head: %s %v", rs[2].Result, rs[2].Error)
	}
	if rs[3].Error != nil || !strings.Contains(string(rs[3].Result), `"number":"0x3de"`) {
		t.Errorf("block at its head: %s %v", rs[3].Result, rs[3].Error)
	}
}

func TestFlakyFailureKinds(t *testing.T) {
	t.Parallel()
	f := startFleet(t, Options{Seed: 7, FailRate: 0.5, SlowDelay: 5 * time.Millisecond})
	c := client(t)
	url := nodeURL(t, f, "flaky")
	body := `{"jsonrpc":"2.0","id":9,"method":"eth_chainId"}`

	seen := map[string]int{}
	for i := 0; i < 1000 && len(seen) < 5; i++ {
		resp, err := c.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			seen["drop"]++ // the node closed the connection without an answer
			continue
		}
		var raw json.RawMessage
		err = json.NewDecoder(resp.Body).Decode(&raw)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusInternalServerError:
			if resp.Header.Get("Content-Type") == "application/json" {
				t.Errorf("HTTP 500 with a JSON body")
			}
			seen["http-500"]++
		case resp.StatusCode != http.StatusOK || err != nil:
			t.Fatalf("HTTP %d, body error %v", resp.StatusCode, err)
		default:
			r := decodeResponse(t, raw)
			if string(r.ID) != "9" {
				t.Fatalf("id %s, want 9", r.ID)
			}
			switch {
			case r.Error != nil && r.Error.Code == codeInternal:
				seen["rpc-error"]++
			case r.Error != nil:
				t.Fatalf("unexpected error %+v", r.Error)
			case string(r.Result) != `"0x539"`:
				t.Fatalf("result %s", r.Result)
			case resp.Header.Get("X-Demo-Fault") == "slow":
				seen["slow"]++
			default:
				seen["ok"]++
			}
		}
	}
	for _, kind := range []string{"ok", "http-500", "rpc-error", "drop", "slow"} {
		if seen[kind] == 0 {
			t.Errorf("never saw %s; saw %v", kind, seen)
		}
	}
	t.Logf("outcomes: %v", seen)
}

// TestFlakySeeded pins that the seed alone fixes which requests fail and how.
func TestFlakySeeded(t *testing.T) {
	t.Parallel()
	tn := tuning{failRate: 0.1}
	seq := func(seed uint64) string {
		n := newNode("flaky", flaky, newChain(1337, time.Second, timeZero), tn, nil, seed)
		var b strings.Builder
		for range 500 {
			b.WriteString(n.pickFault().String()[:1])
		}
		return b.String()
	}
	a, b, other := seq(42), seq(42), seq(43)
	if a != b {
		t.Fatal("same seed, different faults")
	}
	if a == other {
		t.Fatal("different seeds, same faults")
	}
	if fails := 500 - strings.Count(a, "n"); fails == 0 || fails > 150 {
		t.Fatalf("%d faults in 500 requests at a 10%% rate", fails)
	}
}

func TestFlakyEventsRateLimited(t *testing.T) {
	t.Parallel()
	f, err := Start(t.Context(), Options{
		BlockTime:       50 * time.Millisecond,
		Seed:            3,
		FailRate:        1,
		SlowDelay:       time.Millisecond,
		LagEvery:        time.Hour,
		FaultEventEvery: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	c := client(t)
	url := nodeURL(t, f, "flaky")
	for range 20 {
		resp, err := c.Post(url, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`))
		if err == nil {
			resp.Body.Close()
		}
	}
	f.Close()
	var lines []string
	for line := range f.Events() { // closed by Close
		lines = append(lines, line)
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "flaky: ") {
		t.Fatalf("events %q, want one flaky line", lines)
	}
}
