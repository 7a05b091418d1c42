// Command ws is the WebSocket benchmark (not a test): it opens N idle
// connections to a running rpcgate and reports the gateway's RSS per idle
// connection, then subscribes every connection to newHeads, has the node
// mine blocks, and reports the fan-out latency of each head: from the
// first client receiving it (the gateway has learned it) to each client
// receiving it (p50, p99, max), and from the mine call returning.
//
//	go run ./bench/ws -url ws://127.0.0.1:18545/eth -node http://127.0.0.1:8545 -pid <rpcgate pid> -n 10000
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:18545/eth", "rpcgate WebSocket endpoint")
	nodeURL := flag.String("node", "", "anvil HTTP URL (mines the blocks)")
	pid := flag.Int("pid", 0, "rpcgate's process id (for RSS)")
	n := flag.Int("n", 10000, "connections")
	blocks := flag.Int("blocks", 10, "heads to measure")
	flag.Parse()

	before := rss(*pid)
	conns := make([]*websocket.Conn, 0, *n)
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 1024}
	for i := 0; i < *n; i++ {
		c, _, err := d.Dial(*url, nil)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dial %d: %v\n", i, err)
			os.Exit(1)
		}
		conns = append(conns, c)
	}
	time.Sleep(2 * time.Second) // let the gateway settle (buffers returned, GC)
	after := rss(*pid)
	fmt.Printf("idle connections: %d\nrpcgate RSS: %d KiB before, %d KiB after: %.1f KiB per idle connection\n",
		*n, before, after, float64(after-before)/float64(*n))

	for _, c := range conns {
		_ = c.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}`))
	}
	for i, c := range conns {
		if _, _, err := c.ReadMessage(); err != nil {
			fmt.Fprintf(os.Stderr, "subscribe %d: %v\n", i, err)
			os.Exit(1)
		}
	}
	fmt.Printf("newHeads subscribers: %d; rpcgate RSS %d KiB\n", *n, rss(*pid))

	type recv struct {
		block string
		at    time.Time
	}
	got := make([][]recv, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(time.Duration(*blocks)*3*time.Second + 30*time.Second))
			for len(got[i]) < *blocks {
				_, msg, err := c.ReadMessage()
				if err != nil {
					return
				}
				at := time.Now()
				// A byte search, not a JSON decode: the client shares the
				// machine with the gateway and must cost it little.
				num := ""
				if k := bytes.Index(msg, []byte(`"number":"`)); k >= 0 {
					rest := msg[k+10:]
					if e := bytes.IndexByte(rest, '"'); e >= 0 {
						num = string(rest[:e])
					}
				}
				got[i] = append(got[i], recv{num, at})
			}
		}()
	}
	mined := map[string]time.Time{}
	for b := 0; b < *blocks; b++ {
		t := mine(*nodeURL)
		mined[t.num] = t.at
		time.Sleep(time.Second)
	}
	wg.Wait()
	first := map[string]time.Time{}
	for _, rs := range got {
		for _, r := range rs {
			if f, ok := first[r.block]; !ok || r.at.Before(f) {
				first[r.block] = r.at
			}
		}
	}
	var spread, fromMine []time.Duration
	missing := 0
	for _, rs := range got {
		missing += *blocks - len(rs)
		for _, r := range rs {
			spread = append(spread, r.at.Sub(first[r.block]))
			if m, ok := mined[r.block]; ok {
				fromMine = append(fromMine, r.at.Sub(m))
			}
		}
	}
	fmt.Printf("heads: %d × %d subscribers, %d notifications missing\n", *blocks, *n, missing)
	report("fan-out (first client → each client)", spread)
	report("mine returned → client (includes the gateway learning the head)", fromMine)
}

func report(what string, ds []time.Duration) {
	if len(ds) == 0 {
		fmt.Printf("%s: no samples\n", what)
		return
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	q := func(p float64) time.Duration { return ds[int(p*float64(len(ds)-1))] }
	fmt.Printf("%s: p50 %v, p99 %v, max %v\n", what, q(0.5).Round(time.Microsecond), q(0.99).Round(time.Microsecond), ds[len(ds)-1].Round(time.Microsecond))
}

type minedBlock struct {
	num string
	at  time.Time
}

// mine mines one block on the node and returns its number and when the
// call returned.
func mine(node string) minedBlock {
	call := func(method, params string) json.RawMessage {
		body := `{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":` + params + `}`
		resp, err := http.Post(node, "application/json", bytes.NewBufferString(body))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer resp.Body.Close()
		var r struct {
			Result json.RawMessage `json:"result"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&r)
		return r.Result
	}
	call("evm_mine", "[]")
	at := time.Now()
	var num string
	_ = json.Unmarshal(call("eth_blockNumber", "[]"), &num)
	return minedBlock{num, at}
}

func rss(pid int) int {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, _ := strconv.Atoi(string(m[1]))
	return v
}
