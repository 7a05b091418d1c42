package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A request whose client disconnects while it waits for a worker slot
// leaves the queue at once: it is counted as cancelled, the queue empties
// while the slot is still busy, and the call never reaches the node.
//
// One node with one worker slot. The proxy holds every eth_getBalance until
// the test lets it go, so the first call keeps the slot busy and the
// second one queues behind it.
func TestClientGoneLeavesQueue(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a")
	ps := StartProxies(t, f)
	cfg := WriteTenantConfig(t, ps, GatewayOpts{}, "workers: 1, queue: 8", "")
	g := cfg.Start(t)
	eventually(t, 30*time.Second, "a up", allUp(t, g, "a"))

	release := make(chan struct{})
	ps["a"].SetFault(func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if strings.Contains(string(body), "eth_getBalance") {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		return false
	})
	releaseOnce := func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}
	t.Cleanup(releaseOnce)

	holder := make(chan rpcReply, 1)
	go func() { holder <- send(g.URL, nil, rpcBodyID("holder", "eth_getBalance", devAddress.Hex(), "latest")) }()
	eventually(t, 30*time.Second, "the first call holds the slot", func() (bool, string) {
		n := ps["a"].Count("eth_getBalance")
		return n == 1, fmt.Sprintf("node a saw %d eth_getBalance calls", n)
	})

	// The second call, on a raw connection the test can drop.
	u, err := url.Parse(g.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	body := string(rpcBodyID("leaver", "eth_getBalance", devAddress.Hex(), "latest"))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		u.Path, u.Host, len(body), body)
	eventually(t, 30*time.Second, "the second call queued", func() (bool, string) {
		ft, high, low := queueDepths(t, g, "a")
		return ft+high+low == 1, fmt.Sprintf("queue depth of node a: fast-track %v, high %v, low %v", ft, high, low)
	})
	canceledBefore := sumMetric(t, g, "rpcgate_queue_shed_total", map[string]string{"node": "a", "reason": "canceled"})

	conn.Close()
	eventually(t, 30*time.Second, "the cancelled call left the queue", func() (bool, string) {
		ft, high, low := queueDepths(t, g, "a")
		c := sumMetric(t, g, "rpcgate_queue_shed_total", map[string]string{"node": "a", "reason": "canceled"})
		return ft+high+low == 0 && c == canceledBefore+1,
			fmt.Sprintf("queue depth %v, cancelled %v (was %v)", ft+high+low, c, canceledBefore)
	})
	select {
	case r := <-holder:
		t.Fatalf("the first call ended before it was released, so the queue emptied for another reason: %s", r)
	default:
	}

	releaseOnce()
	if r := <-holder; !r.OK() {
		t.Fatalf("the first call: %s", r)
	}
	if n := ps["a"].Count("eth_getBalance"); n != 1 {
		t.Errorf("node a saw %d eth_getBalance calls, want 1: the cancelled call was sent anyway", n)
	}
}
