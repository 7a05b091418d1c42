package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// bigAddress holds 24 KiB of code: eth_getCode answers 48 KiB of hex.
const bigAddress = "0x00000000000000000000000000000000c0ffee04"

// smallBufferDial dials with a 64 KiB socket receive buffer: a fixed
// SO_RCVBUF turns off the kernel's autotuning (up to tcp_rmem's 32 MiB
// here), so a client that stops reading is noticed after a few answers
// instead of after the kernel has swallowed them all.
func smallBufferDial(t testing.TB, url string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, NetDial: func(network, addr string) (net.Conn, error) {
		nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 64<<10)
			})
			if err != nil {
				return err
			}
			return serr
		}}
		return nd.Dial(network, addr)
	}}
	c, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func wsDial(t testing.TB, url string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readWSAnswer reads messages until the answer with id arrives.
func readWSAnswer(t testing.TB, c *websocket.Conn, id int) map[string]json.RawMessage {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(msg, &m); err != nil {
			t.Fatalf("bad message %q", msg)
		}
		if string(m["id"]) == fmt.Sprint(id) {
			return m
		}
	}
}

func wsCall(t testing.TB, c *websocket.Conn, id int, method string, params string) map[string]json.RawMessage {
	t.Helper()
	msg := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, id, method, params)
	if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	return readWSAnswer(t, c, id)
}

// Slow consumer: clients that send many calls and stop reading are closed
// with 1008 and a reason once more than send_buffer_bytes waits for them,
// and what waited is dropped: the gateway's RSS grows by far less than
// the answers they asked for (8 × 500 answers of 48 KiB = 192 MiB, which
// an unbounded buffer would hold) — it stays within a bound made of the
// configured buffers plus runtime slack. Large answers keep the number of
// calls (and the runtime's own growth, race detector included) small.
func TestWSSlowConsumerClosedWithReason(t *testing.T) {
	f := StartFleet(t, "a")
	bigCode := "0x" + strings.Repeat("00", 24576)
	f.Do("anvil_setCode", []any{bigAddress, bigCode})
	const sendBuf = 256 << 10
	// Enough worker slots and queue that no call is shed: every answer is
	// the 48 KiB one, whatever the machine's load.
	cfg := wsConfig(f.Nodes, nil, fmt.Sprintf("websocket:\n  send_buffer_bytes: %d\n", sendBuf))
	cfg = strings.Replace(cfg, `"}`+"\n", `", workers: 32, queue: 4096}`+"\n", 1)
	cfgFile := &ConfigFile{Path: t.TempDir() + "/rpcgate.yaml", Token: "e2e-token"}
	cfgFile.WriteRaw(t, cfg)
	g := cfgFile.Start(t)
	call := fmt.Sprintf(`{"jsonrpc":"2.0","id":%%d,"method":"eth_getCode","params":[%q,"latest"]}`, bigAddress)
	// One answer's size, and a warm-up so the baseline includes pools.
	warm := wsDial(t, g.WSURL())
	ans := wsCall(t, warm, 1, "eth_getCode", fmt.Sprintf(`[%q,"latest"]`, bigAddress))
	answerSize := len(ans["result"])
	if answerSize < 48<<10 {
		t.Fatalf("eth_getCode answer is %d bytes, want ≥ 48 KiB", answerSize)
	}
	warm.Close()
	before := g.rssKB(t)

	const clients, calls = 8, 500
	conns := make([]*websocket.Conn, clients)
	var wg sync.WaitGroup
	for i := range conns {
		conns[i] = smallBufferDial(t, g.WSURL())
		wg.Add(1)
		go func(c *websocket.Conn) {
			defer wg.Done()
			for j := 0; j < calls; j++ {
				_ = c.SetWriteDeadline(time.Now().Add(20 * time.Second))
				if c.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(call, j))) != nil {
					return // closed by the gateway already
				}
			}
		}(conns[i])
	}
	wg.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for g.metric(t, `rpcgate_ws_slow_consumer_closes_total{chain="eth"}`) < clients && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := g.metric(t, `rpcgate_ws_slow_consumer_closes_total{chain="eth"}`); n != clients {
		t.Fatalf("slow consumer closes = %v, want %d", n, clients)
	}
	// Regression: closing a slow client once cancelled its calls in flight,
	// which node.Do counted as node timeouts, and the healthy node got
	// ejected. Closing a client must not cost the node its health.
	if up := g.metric(t, `rpcgate_node_up{chain="eth",node="a"}`); up != 1 {
		t.Fatalf("rpcgate_node_up for node a = %v after slow clients were closed, want 1", up)
	}
	after := g.rssKB(t)
	unbounded := clients * calls * answerSize / 1024
	bound := clients*sendBuf/1024 + 64<<10 // configured buffers + 64 MiB runtime slack
	t.Logf("RSS %d KiB → %d KiB; answers asked for %d KiB; bound %d KiB", before, after, unbounded, bound)
	if unbounded <= 2*bound {
		t.Fatalf("test too small to tell: unbounded %d KiB ≤ twice the bound %d KiB", unbounded, bound)
	}
	if after-before > bound {
		t.Fatalf("RSS grew by %d KiB, more than the configured buffers allow (%d KiB)", after-before, bound)
	}
	// Each client, reading again, gets what was in flight and then the close
	// frame with code 1008 and the reason.
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		got := 0
		for {
			_, _, err := c.ReadMessage()
			if err == nil {
				got++
				continue
			}
			ce, ok := err.(*websocket.CloseError)
			if !ok || ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "slow consumer") {
				t.Fatalf("client %d: after %d answers: %v, want close 1008 with a slow consumer reason", i, got, err)
			}
			if got >= calls {
				t.Fatalf("client %d got all %d answers: nothing was dropped", i, got)
			}
			break
		}
	}
}

// 1,000 subscribed connections each receive every head.
func TestWSThousandSubscribers(t *testing.T) {
	f := StartFleet(t, "a", "b")
	g := startWSGateway(t, f.Nodes, nil, "websocket:\n  max_connections_per_ip: 2000\n  max_subscriptions_per_key: 2000\n")
	const n = 1000
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = wsDial(t, g.WSURL())
		if err := conns[i].WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}`)); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range conns {
		if m := readWSAnswer(t, c, 1); len(m["result"]) != 36 {
			t.Fatalf("conn %d: subscribe answer %v", i, m)
		}
	}
	if v := g.metric(t, `rpcgate_ws_subscriptions{chain="eth",type="newHeads"}`); v != n {
		t.Fatalf("rpcgate_ws_subscriptions = %v, want %d", v, n)
	}
	head, _ := f.Node("a").Head()
	const blocks = 3
	var total atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
			for want := head + 1; want <= head+blocks; want++ {
				_, msg, err := c.ReadMessage()
				if err != nil {
					errs <- fmt.Errorf("conn %d waiting for head %d: %v", i, want, err)
					return
				}
				var note struct {
					Params struct {
						Result struct {
							Number string `json:"number"`
						} `json:"result"`
					} `json:"params"`
				}
				_ = json.Unmarshal(msg, &note)
				if note.Params.Result.Number != hexUint(want) {
					errs <- fmt.Errorf("conn %d: got head %s, want %s", i, note.Params.Result.Number, hexUint(want))
					return
				}
				total.Add(1)
			}
		}()
	}
	for i := 0; i < blocks; i++ {
		f.Mine(1)
		time.Sleep(300 * time.Millisecond)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if total.Load() != n*blocks {
		t.Fatalf("%d notifications, want %d", total.Load(), n*blocks)
	}
}

// Connection limits: per IP (HTTP 429 on the upgrade), subscriptions per
// connection (a JSON-RPC error), message size (close 1009), and a
// graceful shutdown closes open connections with 1001.
func TestWSLimitsAndShutdown(t *testing.T) {
	f := StartFleet(t, "a")
	g := startWSGateway(t, f.Nodes, nil, "websocket:\n  max_connections_per_ip: 2\n  max_subscriptions: 1\n  max_message_bytes: 1024\n")
	c1 := wsDial(t, g.WSURL())
	c2 := wsDial(t, g.WSURL())
	_, resp, err := websocket.DefaultDialer.Dial(g.WSURL(), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third connection from one IP: %v %v, want HTTP 429", resp, err)
	}
	if m := wsCall(t, c1, 1, "eth_subscribe", `["newHeads"]`); m["result"] == nil {
		t.Fatalf("first subscription: %v", m)
	}
	if m := wsCall(t, c1, 2, "eth_subscribe", `["newHeads"]`); m["error"] == nil || !strings.Contains(string(m["error"]), "max_subscriptions") {
		t.Fatalf("second subscription on a connection limited to one: %v", m)
	}
	// JSON-RPC over the same connection goes through the pipeline.
	if m := wsCall(t, c1, 3, "eth_chainId", `[]`); string(m["result"]) != fmt.Sprintf(`"0x%x"`, chainID) {
		t.Fatalf("eth_chainId over ws: %v", m)
	}
	big := fmt.Sprintf(`{"jsonrpc":"2.0","id":4,"method":"eth_call","params":[%q]}`, strings.Repeat("x", 2048))
	_ = c2.WriteMessage(websocket.TextMessage, []byte(big))
	_ = c2.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := c2.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("oversized message: %v, want close 1009", err)
	}
	// SIGTERM: the open connection gets close 1001.
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	_ = c1.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c1.ReadMessage()
		if err == nil {
			continue // a head or two may still arrive
		}
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Fatalf("on shutdown: %v, want close 1001", err)
		}
		break
	}
	select {
	case <-g.done:
	case <-time.After(15 * time.Second):
		t.Fatal("gateway did not exit after closing its connections")
	}
	_ = context.Background
}

// chains.<name>.ws_group serves every call made over WebSocket from its
// group; the same call over HTTP stays on the method's group.
func TestWSGroup(t *testing.T) {
	f := StartFleet(t, "a", "b")
	cfg := wsConfig(f.Nodes, nil, "")
	cfg = strings.Replace(cfg, "      default: {nodes: [a, b]}\n", "      default: {nodes: [a]}\n      streams: {nodes: [b]}\n    ws_group: streams\n", 1)
	c := &ConfigFile{Path: t.TempDir() + "/rpcgate.yaml", Token: "e2e-token"}
	c.WriteRaw(t, cfg)
	g := c.Start(t)
	ws := wsDial(t, g.WSURL())
	for i := 1; i <= 3; i++ {
		if m := wsCall(t, ws, i, "eth_getBalance", `["0x0000000000000000000000000000000000000000","latest"]`); m["result"] == nil {
			t.Fatalf("eth_getBalance over ws: %v", m)
		}
	}
	var bal string
	if msg := g.rpc(t, &bal, "eth_getBalance", "0x0000000000000000000000000000000000000000", "latest"); msg != "" {
		t.Fatal(msg)
	}
	overWS := g.metric(t, `rpcgate_requests_total{chain="eth",group="streams",method="eth_getBalance",outcome="ok"}`)
	overHTTP := g.metric(t, `rpcgate_requests_total{chain="eth",group="default",method="eth_getBalance",outcome="ok"}`)
	if overWS != 3 || overHTTP != 1 {
		t.Fatalf("eth_getBalance served by group streams %v times (want 3, the WebSocket calls) and default %v (want 1, the HTTP call)", overWS, overHTTP)
	}
}

// A plan's notification_cost is accounted per notification: three heads
// to a subscriber on a plan costing 5 per notification are 15 compute
// units of usage.
func TestWSNotificationCost(t *testing.T) {
	f := StartFleet(t, "a")
	g := startWSGateway(t, f.Nodes, nil, "plans:\n  streams: {notification_cost: 5}\nkeys:\n  - {name: alice, key: \"alice-secret-key\", plan: streams, metrics: true}\n")
	ws := wsDial(t, strings.Replace(g.WSURL(), "/eth", "/eth/alice-secret-key", 1))
	if m := wsCall(t, ws, 1, "eth_subscribe", `["newHeads"]`); m["result"] == nil {
		t.Fatalf("subscribe: %v", m)
	}
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for i := 0; i < 3; i++ {
		f.Mine(1)
		if _, _, err := ws.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	metric := `rpcgate_usage_compute_units_total{key="alice",plan="streams"}`
	if cu := g.metric(t, metric); cu != 15 {
		t.Fatalf("%s = %v, want 15 (3 notifications × 5)", metric, cu)
	}
}
