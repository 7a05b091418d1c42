// Command herd is the thundering-herd half of bench/cache.sh (a benchmark,
// not a test): in each round, N clients ask the gateway for the same new
// head block at the same instant, and the upstream calls the gateway made
// (rpcgate_node_requests_total on its admin /metrics) are divided by the
// client calls.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "gateway chain URL (http://host:port/eth)")
	admin := flag.String("admin", "", "gateway admin URL (http://host:port)")
	token := flag.String("token", "bench", "admin token")
	clients := flag.Int("clients", 500, "clients per round")
	rounds := flag.Int("rounds", 10, "rounds")
	flag.Parse()
	tr := &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	before, cBefore := upstream(hc, *admin, *token, "rpcgate_node_requests_total{"), upstream(hc, *admin, *token, "rpcgate_cache_coalesced_total{")
	calls, failed := 0, 0
	for r := 0; r < *rounds; r++ {
		// A new head each round: the block number is new, so nothing is cached.
		body := []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"eth_getBlockByNumber","params":["0x%x",false]}`, r, 0x7000000+r))
		start := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := 0; i < *clients; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				resp, err := hc.Post(*url, "application/json", bytes.NewReader(body))
				ok := err == nil && resp.StatusCode == 200
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				calls++
				if !ok {
					failed++
				}
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
	}
	after, cAfter := upstream(hc, *admin, *token, "rpcgate_node_requests_total{"), upstream(hc, *admin, *token, "rpcgate_cache_coalesced_total{")
	// Every client call either led an upstream call or was coalesced into
	// one; the node counter also holds the gateway's own polls meanwhile.
	leaders := float64(calls) - (cAfter - cBefore)
	fmt.Printf("HERDRESULT clients=%d rounds=%d client_calls=%d failed=%d coalesced=%.0f herd_upstream_calls=%.0f herd_upstream_per_client_call=%.4f node_requests_incl_polls=%.0f\n",
		*clients, *rounds, calls, failed, cAfter-cBefore, leaders, leaders/float64(calls), after-before)
}

// upstream sums the samples of one metric (prefix: name and "{").
func upstream(hc *http.Client, admin, token, prefix string) float64 {
	req, _ := http.NewRequest("GET", admin+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "metrics:", err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, prefix) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}
