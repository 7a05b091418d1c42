package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Harness for the tenancy tests (keys, plans, priorities, limits, usage):
// a config file with per-node options and top-level plans/keys, and a
// client that sends JSON-RPC with headers and reads the gateway's own
// error answers (code and data).

// WriteTenantConfig is WriteConfigFile with nodeOpts (YAML flow-mapping
// members such as "workers: 1, queue: 64") added to every node of the
// proxies, and extra (top-level YAML: plans, keys, tenancy, registry)
// appended.
func WriteTenantConfig(t testing.TB, proxies map[string]*Proxy, opts GatewayOpts, nodeOpts, extra string) *ConfigFile {
	t.Helper()
	c := WriteConfigFile(t, proxies, opts, extra)
	if nodeOpts == "" {
		return c
	}
	text := c.Text
	for _, p := range proxies {
		old := fmt.Sprintf("{url: %s}", strconv.Quote(p.URL))
		if !strings.Contains(text, old) {
			t.Fatalf("node line %s not found in the generated config:\n%s", old, text)
		}
		text = strings.ReplaceAll(text, old, fmt.Sprintf("{url: %s, %s}", strconv.Quote(p.URL), nodeOpts))
	}
	c.WriteRaw(t, text)
	return c
}

// rpcReply is one answer as the client saw it. Err is a transport error
// (no HTTP answer at all).
type rpcReply struct {
	Status int
	Header http.Header
	Body   []byte
	Err    error
}

// gatewayErr is the gateway's own JSON-RPC error, with the data the tenant
// stage attaches to 429s.
type gatewayErr struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    *struct {
		Limit        string `json:"limit"`
		RetryAfterMs int64  `json:"retry_after_ms"`
	} `json:"data"`
}

// Result returns the result member (nil when absent or null).
func (r rpcReply) Result() json.RawMessage {
	var m struct {
		Result json.RawMessage `json:"result"`
	}
	if json.Unmarshal(r.Body, &m) != nil || string(m.Result) == "null" {
		return nil
	}
	return m.Result
}

// Error returns the error member, nil when there is none.
func (r rpcReply) Error() *gatewayErr {
	var m struct {
		Error *gatewayErr `json:"error"`
	}
	if json.Unmarshal(r.Body, &m) != nil {
		return nil
	}
	return m.Error
}

// String describes the reply for failure messages.
func (r rpcReply) String() string {
	if r.Err != nil {
		return "transport error: " + r.Err.Error()
	}
	return fmt.Sprintf("HTTP %d (Retry-After %q, WWW-Authenticate %q): %.300s",
		r.Status, r.Header.Get("Retry-After"), r.Header.Get("WWW-Authenticate"), r.Body)
}

// OK reports HTTP 200 with a non-null result and no error.
func (r rpcReply) OK() bool {
	return r.Err == nil && r.Status == http.StatusOK && r.Result() != nil && r.Error() == nil
}

// sendRPC posts body to url with the given headers.
func sendRPC(ctx context.Context, client *http.Client, url string, hdr map[string]string, body []byte) rpcReply {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return rpcReply{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return rpcReply{Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return rpcReply{Status: resp.StatusCode, Header: resp.Header, Err: err}
	}
	return rpcReply{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// send is sendRPC with a 60 s deadline and the default client.
func send(url string, hdr map[string]string, body []byte) rpcReply {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return sendRPC(ctx, http.DefaultClient, url, hdr, body)
}

// rpcBodyID is a single JSON-RPC request with the given id (any JSON value).
func rpcBodyID(id any, method string, params ...any) []byte {
	if params == nil {
		params = []any{}
	}
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		panic(err)
	}
	return b
}

// queueDepths reads rpcgate_queue_depth of node on chain eth per class.
func queueDepths(t testing.TB, g *Gateway, node string) (ft, high, low float64) {
	t.Helper()
	get := func(class string) float64 {
		v, ok := g.Metric(t, "rpcgate_queue_depth", map[string]string{"chain": "eth", "node": node, "class": class})
		if !ok {
			t.Fatalf(`rpcgate_queue_depth{node=%q,class=%q} is missing from /metrics`, node, class)
		}
		return v
	}
	return get("fast-track"), get("high"), get("low")
}

// sumMetric adds up every sample of a counter or gauge whose labels
// include labels.
func sumMetric(t testing.TB, g *Gateway, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := g.metrics()
	if err != nil {
		t.Fatalf("read %s/metrics: %v", g.AdminURL, err)
	}
	fam, ok := fams[name]
	if !ok {
		return 0
	}
	total := 0.0
next:
	for _, m := range fam.GetMetric() {
		for k, v := range labels {
			if label(m, k) != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Untyped != nil:
			total += m.GetUntyped().GetValue()
		}
	}
	return total
}
