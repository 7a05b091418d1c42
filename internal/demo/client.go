package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Client plays a steady stream of mixed reads against the gateway, so the
// demo shows the fleet's faults being absorbed without anyone typing. Its
// counters are what a client saw: answers with a result, and failures
// (transport errors, non-200 statuses, or JSON-RPC errors).
type Client struct {
	URL  string
	Rate int // requests per second

	OK, Failed atomic.Uint64
	LastError  atomic.Pointer[string]
}

var demoCalls = []string{
	`{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}`,
	`{"jsonrpc":"2.0","id":2,"method":"eth_getBlockByNumber","params":["latest",false]}`,
	`{"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":["0x00000000000000000000000000000000000000aa","latest"]}`,
	`{"jsonrpc":"2.0","id":4,"method":"eth_getLogs","params":[{"fromBlock":"0x3e6","toBlock":"0x3e8"}]}`,
	`[{"jsonrpc":"2.0","id":5,"method":"eth_chainId","params":[]},{"jsonrpc":"2.0","id":6,"method":"eth_gasPrice","params":[]}]`,
}

// Run sends requests until ctx ends, then cancels the requests still in
// flight and returns once every one of them has finished and its
// connections are closed: it leaves no goroutine behind.
func (c *Client) Run(ctx context.Context) {
	if c.Rate <= 0 {
		return
	}
	t := time.NewTicker(time.Second / time.Duration(c.Rate))
	defer t.Stop()
	// Its own transport, so closing its idle connections at the end closes
	// only this client's (and their read/write goroutines with them).
	tr := &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 15 * time.Second}
	var inFlight sync.WaitGroup
	defer inFlight.Wait()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		body := demoCalls[i%len(demoCalls)]
		inFlight.Go(func() { c.once(ctx, hc, body) })
	}
}

func (c *Client) once(ctx context.Context, hc *http.Client, body string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewBufferString(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			c.fail(err.Error())
		}
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.fail(resp.Status + ": " + string(b))
		return
	}
	var answers []struct {
		Error *struct{ Message string } `json:"error"`
	}
	if len(b) > 0 && b[0] == '{' {
		b = append(append([]byte{'['}, b...), ']')
	}
	if err := json.Unmarshal(b, &answers); err != nil {
		c.fail("unreadable answer: " + err.Error())
		return
	}
	for _, a := range answers {
		if a.Error != nil {
			c.fail("JSON-RPC error: " + a.Error.Message)
			return
		}
	}
	c.OK.Add(1)
}

func (c *Client) fail(msg string) {
	c.Failed.Add(1)
	c.LastError.Store(&msg)
}
