package e2e

import (
	"context"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
)

// The gateway polls every node's head with eth_blockNumber, so the proxies'
// eth_blockNumber counts include its own traffic. Assertions about who served
// client reads therefore count eth_getBalance, which only clients send.

func TestReadsAreSpread(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	f.Mine(3)
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{})
	gw := dial(t, g.URL)

	ResetAll(ps)
	const reads = 300
	ctx := context.Background()
	for i := 0; i < reads; i++ {
		if i%2 == 0 {
			n, err := gw.BlockNumber(ctx)
			if err != nil || n != 3 {
				t.Fatalf("read %d: eth_blockNumber = %d, %v; want 3", i, n, err)
			}
			continue
		}
		bal, err := gw.BalanceAt(ctx, devAddress, nil)
		if err != nil || bal.Sign() <= 0 {
			t.Fatalf("read %d: eth_getBalance = %v, %v", i, bal, err)
		}
	}

	total := 0
	for _, p := range ps {
		total += p.Count("eth_getBalance")
	}
	if total < reads/2 {
		t.Fatalf("nodes saw %d eth_getBalance calls, clients made %d", total, reads/2)
	}
	for _, name := range []string{"a", "b", "c"} {
		got := ps[name].Count("eth_getBalance")
		if got*10 < total {
			t.Errorf("node %s served %d of %d eth_getBalance reads (< 10%%); all counts: a=%v b=%v c=%v",
				name, got, total, ps["a"].Counts(), ps["b"].Counts(), ps["c"].Counts())
		}
	}
}

func TestNodeKilledDuringReads(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	f.Mine(3)
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{})
	gw := dial(t, g.URL)

	const (
		reads   = 2000
		workers = 8
		killAt  = 400
	)
	var (
		next, done atomic.Int64
		killOnce   sync.Once
		killed     = make(chan struct{})
		mu         sync.Mutex
		failures   []string
		wg         sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= reads {
					return
				}
				if err := oneRead(gw, int(i)); err != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("read %d: %v", i, err))
					mu.Unlock()
				}
				if done.Add(1) == killAt {
					killOnce.Do(func() {
						f.Kill("b")
						close(killed)
					})
				}
			}
		}()
	}
	wg.Wait()

	select {
	case <-killed:
	default:
		t.Fatal("node b was never killed")
	}
	if f.Node("b").Alive() {
		t.Fatal("node b still alive")
	}
	if n := done.Load(); n != reads {
		t.Errorf("%d of %d reads completed", n, reads)
	}
	if len(failures) > 0 {
		show := failures
		if len(show) > 20 {
			show = show[:20]
		}
		t.Errorf("%d of %d reads failed after SIGKILL of one node of three; first: %v", len(failures), reads, show)
	}
}

// oneRead is one of three read kinds, each checked against the fleet's fixed
// state (head 3), so a wrong answer counts as a failure, not just an error.
func oneRead(c *ethclient.Client, i int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch i % 3 {
	case 0:
		n, err := c.BlockNumber(ctx)
		if err == nil && n != 3 {
			err = fmt.Errorf("eth_blockNumber = %d, want 3", n)
		}
		return err
	case 1:
		bal, err := c.BalanceAt(ctx, devAddress, nil)
		if err == nil && bal.Sign() <= 0 {
			err = fmt.Errorf("eth_getBalance = %v", bal)
		}
		return err
	default:
		b, err := c.BlockByNumber(ctx, big.NewInt(2))
		if err == nil && b.NumberU64() != 2 {
			err = fmt.Errorf("eth_getBlockByNumber(2) returned block %d", b.NumberU64())
		}
		return err
	}
}

func TestLaggingNodeNotUsed(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b", "c")
	f.Mine(2)
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{}) // max_lag: default 3
	gw := dial(t, g.URL)

	f.Mine(10, "a", "b") // c is now 10 blocks behind
	eventually(t, 30*time.Second, `rpcgate_node_lag{node="c"} >= 10 or rpcgate_node_up{node="c"} == 0`, func() (bool, string) {
		lag, okLag := g.nodeMetric(t, "rpcgate_node_lag", "c")
		up, okUp := g.nodeMetric(t, "rpcgate_node_up", "c")
		return (okLag && lag >= 10) || (okUp && up == 0),
			fmt.Sprintf("lag=%v (present %v) up=%v (present %v)", lag, okLag, up, okUp)
	})

	ResetAll(ps)
	ctx := context.Background()
	for i := 0; i < 200; i++ {
		if i%2 == 0 {
			// The head a client sees must be the fleet's, never c's.
			n, err := gw.BlockNumber(ctx)
			if err != nil || n != 12 {
				t.Fatalf("read %d: eth_blockNumber = %d, %v; want 12", i, n, err)
			}
			continue
		}
		if _, err := gw.BalanceAt(ctx, devAddress, nil); err != nil {
			t.Fatalf("read %d: eth_getBalance: %v", i, err)
		}
	}
	if got := ps["c"].Count("eth_getBalance"); got != 0 {
		t.Fatalf("lagging node c served %d eth_getBalance reads; want 0", got)
	}
	if ps["a"].Count("eth_getBalance")+ps["b"].Count("eth_getBalance") < 100 {
		t.Fatalf("a and b served too few reads: a=%v b=%v", ps["a"].Counts(), ps["b"].Counts())
	}

	// c catches up with the same blocks and must come back into rotation.
	f.Mine(10, "c")
	f.RequireIdentical()
	eventually(t, 30*time.Second, `rpcgate_node_up{node="c"} == 1`, func() (bool, string) {
		up, ok := g.nodeMetric(t, "rpcgate_node_up", "c")
		return ok && up == 1, fmt.Sprintf("up=%v (present %v)", up, ok)
	})
	ps["c"].Reset()
	for i := 0; i < 500 && ps["c"].Count("eth_getBalance") == 0; i++ {
		if _, err := gw.BalanceAt(ctx, devAddress, nil); err != nil {
			t.Fatalf("read after catch-up: %v", err)
		}
	}
	if ps["c"].Count("eth_getBalance") == 0 {
		t.Fatal("node c caught up and is up, but 500 reads never reached it")
	}
}

// TestAllNodesDown pins the "all nodes down" contract (HTTP 503, -32002) and
// recovery once a node comes back.
func TestAllNodesDown(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a")
	ps := StartProxies(t, f)
	g := StartGateway(t, ps, GatewayOpts{})
	call := []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["` + devAddress.Hex() + `","latest"]}`)

	f.Kill("a")
	var body []byte
	eventually(t, 30*time.Second, "HTTP 503 with every node dead", func() (bool, string) {
		var status int
		status, _, body = g.post(context.Background(), "/eth", call)
		return status == 503, fmt.Sprintf("HTTP %d %s", status, body)
	})
	if code := errorCode(t, body); code != -32002 {
		t.Fatalf("all nodes down: code %d, want -32002; body %s", code, body)
	}

	if err := f.Node("a").Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "recovery after the node restarted", func() (bool, string) {
		status, _, b := g.post(context.Background(), "/eth", call)
		return status == 200 && errorCode(t, b) == 0, fmt.Sprintf("HTTP %d %s", status, b)
	})
}
