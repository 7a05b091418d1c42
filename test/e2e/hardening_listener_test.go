package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/rpcgate/rpcgate/internal/redistest"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Issue 8 (hardening), the public listener, decoder, admin and logging
// defects: each test reproduces the attack against the real binary.

// startHardened runs the gateway on the harness config for proxies with
// edit applied to its text (nil: none), extra top-level YAML appended and
// args added to `rpcgate serve`.
func startHardened(t testing.TB, proxies map[string]*Proxy, edit func(string) string, extra string, args ...string) *Gateway {
	t.Helper()
	if gatewayBuildErr != nil {
		t.Fatalf("rpcgate binary did not build:\n%v", gatewayBuildErr)
	}
	var last string
	for attempt := 0; attempt < 3; attempt++ {
		tok := make([]byte, 16)
		_, _ = rand.Read(tok)
		listen := fmt.Sprintf("127.0.0.1:%d", freePort())
		admin := fmt.Sprintf("127.0.0.1:%d", freePort())
		g := &Gateway{URL: "http://" + listen + "/eth", Base: "http://" + listen, AdminURL: "http://" + admin,
			Token: hex.EncodeToString(tok), out: &syncBuffer{}, done: make(chan struct{})}
		g.Config = gatewayConfig(listen, admin, g.Token, proxies, GatewayOpts{})
		if edit != nil {
			g.Config = edit(g.Config)
		}
		g.Config += extra
		file := filepath.Join(t.TempDir(), "rpcgate.yaml")
		if err := os.WriteFile(file, []byte(g.Config), 0o600); err != nil {
			t.Fatal(err)
		}
		g.cmd = exec.Command(gatewayBin, append([]string{"serve", "--config", file}, args...)...)
		g.cmd.Stdout, g.cmd.Stderr = g.out, g.out
		g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := g.cmd.Start(); err != nil {
			t.Fatalf("start rpcgate: %v", err)
		}
		go func() { g.err = g.cmd.Wait(); close(g.done) }()
		t.Cleanup(func() { g.stop(t) })
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !g.exited(); time.Sleep(100 * time.Millisecond) {
			if status, _, _ := g.post(context.Background(), "/eth", rpcBody("eth_chainId")); status == http.StatusOK {
				return g
			}
		}
		last = g.out.String()
		if !g.exited() {
			break
		}
	}
	t.Fatalf("rpcgate did not become ready\n%s", last)
	return nil
}

// hostPort is the public listener's address.
func (g *Gateway) hostPort() string { return strings.TrimPrefix(g.Base, "http://") }

// vmRSS reads a process's resident set size in bytes.
func vmRSS(t testing.TB, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// readAnswer reads one HTTP answer from c.
func readAnswer(c net.Conn, br *bufio.Reader) (*http.Response, []byte, error) {
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// Defect 1: 200 connections announcing 10 MB and sending 1 KB each took
// about 13 MB per connection (the listener allocated the announced
// length). Now memory follows the bytes received, and the stalled bodies
// are cut by limits.body_read_timeout with 408.
func TestHardeningAnnouncedLengthMemory(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a")
	ps := StartProxies(t, f)
	g := startHardened(t, ps, nil, "limits:\n  body_read_timeout: 3s\n")
	for i := 0; i < 50; i++ { // warm the pools the way ordinary traffic does
		g.post(context.Background(), "/eth", rpcBody("eth_chainId"))
	}
	pid := g.cmd.Process.Pid
	before := vmRSS(t, pid)

	const conns = 200
	head := "POST /eth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
	kb := `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":["` + strings.Repeat("a", 1024-60) + `"`
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.Dial("tcp", g.hostPort())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, head+kb); err != nil {
			t.Fatal(err)
		}
		cs[i] = c
	}
	// The gateway is serving while they stall...
	if status, _, body := g.post(context.Background(), "/eth", rpcBody("eth_chainId")); status != 200 {
		t.Fatalf("ordinary call during the attack: HTTP %d %s", status, body)
	}
	// ...and its memory is sampled while all 200 bodies are pending.
	peak := before
	for i := 0; i < 10; i++ {
		peak = max(peak, vmRSS(t, pid))
		time.Sleep(100 * time.Millisecond)
	}
	// Every stalled body is refused with 408 and its connection closed.
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for _, c := range cs {
		wg.Add(1)
		go func(c net.Conn) {
			defer wg.Done()
			resp, body, err := readAnswer(c, bufio.NewReader(c))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				codes[-1]++
			case resp.StatusCode == http.StatusRequestTimeout && bytes.Contains(body, []byte(`"code":-32600`)):
				codes[408]++
			default:
				codes[resp.StatusCode]++
			}
		}(c)
	}
	wg.Wait()
	grew := peak - before
	t.Logf("RSS before %d MB, peak %d MB (+%d KB for %d connections); answers %v", before>>20, peak>>20, grew>>10, conns, codes)
	if grew >= 50<<20 {
		t.Errorf("RSS grew by %d MB with %d connections announcing 10 MB and sending 1 KB; want under 50 MB", grew>>20, conns)
	}
	if codes[408] != conns {
		t.Errorf("answers to stalled bodies: %v; want %d × 408 with -32600", codes, conns)
	}
}

// Defect 1, the per-IP limits: connections over limits.max_conns_per_ip
// get 429 -32005 at accept; body bytes in flight over
// limits.max_inflight_body_bytes_per_ip get 429 -32005.
func TestHardeningPerIPLimits(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a")
	ps := StartProxies(t, f)
	g := startHardened(t, ps, nil, "limits:\n  max_conns_per_ip: 4\n  max_inflight_body_bytes_per_ip: 200000\n  body_read_timeout: 5s\n")

	// Four connections are open (idle); the fifth is refused.
	var idle []net.Conn
	for i := 0; i < 4; i++ {
		c, err := net.Dial("tcp", g.hostPort())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	c, err := net.Dial("tcp", g.hostPort())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "POST /eth HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
	resp, body, err := readAnswer(c, bufio.NewReader(c))
	c.Close()
	if err != nil || resp.StatusCode != http.StatusTooManyRequests || !bytes.Contains(body, []byte(`"code":-32005`)) || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("fifth connection: %v %v %s; want 429 -32005 with Retry-After", resp, err, body)
	}
	for _, c := range idle {
		c.Close()
	}
	// Once they are closed, calls go through again.
	eventually(t, 10*time.Second, "a call after the idle connections closed", func() (bool, string) {
		status, _, body := g.post(context.Background(), "/eth", rpcBody("eth_chainId"))
		return status == 200, string(body)
	})

	// Three bodies of 150,000 bytes, each stalled after 140,000 bytes: two
	// fit in 200,000 bytes (64 KiB of each is free), the third does not.
	head := "POST /eth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 150000\r\n\r\n"
	var answers []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", g.hostPort())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, head+strings.Repeat(" ", 140000))
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body, err := readAnswer(c, bufio.NewReader(c))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				answers = append(answers, err.Error())
				return
			}
			answers = append(answers, strconv.Itoa(resp.StatusCode)+" "+string(body))
		}()
	}
	wg.Wait()
	limited := 0
	for _, a := range answers {
		if strings.HasPrefix(a, "429 ") && strings.Contains(a, `"code":-32005`) {
			limited++
		}
	}
	if limited != 1 {
		t.Errorf("answers %q: want exactly one 429 -32005 (the others time out with 408)", answers)
	}
}

// Defect 7: Content-Length with Transfer-Encoding: chunked was framed by
// the chunked encoding and the connection stayed open, so a request
// hidden in the body got its own answer.
func TestHardeningAmbiguousFraming(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a")
	ps := StartProxies(t, f)
	g := startHardened(t, ps, nil, "")
	hidden := string(rpcBody("eth_blockNumber"))
	smuggled := "POST /eth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(hidden)) + "\r\n\r\n" + hidden
	chunk := string(rpcBody("eth_chainId"))
	for _, order := range []string{"CL first", "TE first"} {
		t.Run(order, func(t *testing.T) {
			headers := "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n"
			if order == "TE first" {
				headers = "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n"
			}
			c, err := net.Dial("tcp", g.hostPort())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req := "POST /eth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + headers + "\r\n" +
				strconv.FormatInt(int64(len(chunk)), 16) + "\r\n" + chunk + "\r\n0\r\n\r\n" + smuggled
			io.WriteString(c, req)
			br := bufio.NewReader(c)
			resp, body, err := readAnswer(c, br)
			if err != nil || resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte(`"code":-32600`)) {
				t.Fatalf("CL+TE request: %v %v %s; want 400 -32600", resp, err, body)
			}
			// The connection is closed: the pipelined request gets no answer.
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			if n, err := br.Read(make([]byte, 1)); n != 0 || err == nil || errors_IsTimeout(err) {
				t.Fatalf("after the 400 the connection gave %d bytes, err %v; want it closed", n, err)
			}
		})
	}
}

func errors_IsTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// Defect 3: a case-variant "Method" member was executed by nodes that
// match member names case-insensitively while the gateway routed and
// policed "method". Such requests, alone or in batches, are refused with
// -32600 and no node sees them.
func TestHardeningCaseVariantMembers(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b")
	ps := StartProxies(t, f)
	g := startHardened(t, ps, func(c string) string { return c + "    methods:\n      deny: [\"admin_*\"]\n" }, "")
	ResetAll(ps)
	singles := []string{
		`{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x0000000000000000000000000000000000000001","latest"],"Method":"admin_nodeInfo"}`,
		`{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0x0000000000000000000000000000000000000001","latest"],"\u004dethod":"admin_nodeInfo"}`,
		`{"jsonrpc":"2.0","id":3,"m\u0065thod":"eth_getBalance","params":["0x0000000000000000000000000000000000000001","latest"]}`,
		`{"jsonrpc":"2.0","id":4,"Method":"eth_sendRawTransaction","method":"eth_getBalance","params":["0x0000000000000000000000000000000000000001","latest"]}`,
		`{"jsonrpc":"2.0","id":5,"method":"eth_getBalance","PARAMS":["0x0000000000000000000000000000000000000001","latest"],"params":[]}`,
	}
	for _, body := range singles {
		status, _, resp := g.post(context.Background(), "/eth", []byte(body))
		if status != http.StatusBadRequest || errorCode(t, resp) != -32600 {
			t.Errorf("%s: HTTP %d %s; want 400 -32600", body, status, resp)
		}
	}
	batch := `[{"jsonrpc":"2.0","id":10,"method":"eth_chainId"},` + strings.Join(singles, ",") + `]`
	status, _, resp := g.post(context.Background(), "/eth", []byte(batch))
	if status != http.StatusOK {
		t.Fatalf("batch: HTTP %d %s", status, resp)
	}
	rs := parseBatch(t, resp)
	if len(rs) != len(singles)+1 {
		t.Fatalf("batch: %d answers, want %d: %s", len(rs), len(singles)+1, resp)
	}
	for _, r := range rs {
		switch id := string(r.ID); {
		case id == "10":
			if r.Error != nil || len(r.Result) == 0 {
				t.Errorf("valid element: %+v", r)
			}
		case r.Error == nil || r.Error.Code != -32600:
			t.Errorf("element %s: %+v; want -32600", id, r)
		}
	}
	for name, p := range ps {
		for _, m := range []string{"eth_getBalance", "admin_nodeInfo", "eth_sendRawTransaction"} {
			if n := p.Count(m); n != 0 {
				t.Errorf("node %s saw %d %s calls; want none", name, n, m)
			}
		}
	}
}

// Defect 6: at debug level the listener's error logger dumped raw
// malformed requests, keys included; the unknown-path 404 echoed the path.
// Keys given in the path, the query and X-Api-Key, in good and malformed
// requests, never reach the log or an answer.
func TestHardeningKeysNeverLogged(t *testing.T) {
	t.Parallel()
	const key = "k3y-secret-0123456789abcdef"
	f := StartFleet(t, "a")
	ps := StartProxies(t, f)
	g := startHardened(t, ps, nil, "plans:\n  full: {priority: high}\nkeys:\n  - {name: fullkey, key: \""+key+"\", plan: full}\n",
		"--log-level", "debug")
	call := string(rpcBody("eth_chainId"))
	raws := []string{
		// well-formed, key in each place
		"POST /eth/" + key + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(call)) + "\r\n\r\n" + call,
		"POST /eth?key=" + key + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(call)) + "\r\n\r\n" + call,
		"POST /eth HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + key + "\r\nContent-Length: " + strconv.Itoa(len(call)) + "\r\n\r\n" + call,
		// unknown paths
		"POST /eth/" + key + "/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
		"POST /nope/" + key + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
		// malformed: a bad header line, a bad request line, a bad length, a
		// header block too large, CL+TE, bad chunking, a bad JSON body
		"POST /eth/" + key + " HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + key + "\r\nBad Header Line\r\n\r\n",
		"POST /eth/" + key + "?key=" + key + " HTTP/9.9 junk\r\nX-Api-Key: " + key + "\r\n\r\n",
		"POST /eth?key=" + key + " HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + key + "\r\nContent-Length: -5\r\n\r\n",
		"POST /eth/" + key + " HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + key + "\r\nX-Big: " + strings.Repeat("a", 20<<10) + "\r\n\r\n",
		"POST /eth/" + key + " HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST /eth/" + key + " HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + key + "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + key + "\r\n",
		"POST /eth/" + key + " HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{\"" + key[:7] + "",
		"GET /status/" + key + "?key=" + key + " HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	for i, raw := range raws {
		c, err := net.Dial("tcp", g.hostPort())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, raw)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		answer, _ := io.ReadAll(c)
		c.Close()
		if bytes.Contains(answer, []byte(key)) {
			t.Errorf("request %d: the answer holds the key:\n%s", i, answer)
		}
		if i < 3 && !bytes.Contains(answer, []byte(`"result":"0x`)) {
			t.Errorf("request %d (key given correctly) was not served:\n%s", i, answer)
		}
	}
	if err := g.Terminate(t); err != nil {
		t.Fatalf("rpcgate exit: %v", err)
	}
	log := g.out.String()
	if n := strings.Count(log, key); n != 0 {
		t.Errorf("the debug log holds the key %d times:\n%s", n, log)
	}
	if !strings.Contains(log, `"level":"DEBUG"`) || !strings.Contains(log, `"key":"fullkey"`) {
		t.Errorf("the log is not a debug log with the key's name:\n%s", log)
	}
}

// Defect 5: with no admin token, a cross-site POST (text/plain, foreign
// Origin) added a node. The admin API now refuses what only browsers
// send, token or not; the same call with the token and JSON succeeds.
func TestHardeningAdminCrossSite(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b")
	ps := StartProxies(t, f)
	node := `{"name":"b","url":"` + ps["b"].URL + `"}`
	only := map[string]*Proxy{"a": ps["a"]}
	send := func(g *Gateway, host string, h map[string]string, method, path, body string) (int, string) {
		req, err := http.NewRequest(method, g.AdminURL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body == "" {
			req.Body, req.ContentLength = nil, 0
		}
		if host != "" {
			req.Host = host
		}
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	crossSite := map[string]string{"Content-Type": "text/plain", "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}

	t.Run("no token", func(t *testing.T) {
		t.Parallel()
		g := startHardened(t, only, func(c string) string {
			return strings.Replace(c, "  token: "+strconv.Quote(tokenOf(c))+"\n", "", 1)
		}, "")
		if code, body := send(g, "", crossSite, "POST", "/admin/chains/eth/nodes", node); code != http.StatusForbidden {
			t.Errorf("cross-site add: HTTP %d %s; want 403", code, body)
		}
		if code, body := send(g, "", map[string]string{"Content-Type": "text/plain"}, "POST", "/admin/chains/eth/nodes", node); code != http.StatusUnsupportedMediaType {
			t.Errorf("text/plain add: HTTP %d %s; want 415", code, body)
		}
		if code, body := send(g, "rebind.evil.example:"+portOf(g.AdminURL), map[string]string{"Content-Type": "application/json"}, "POST", "/admin/chains/eth/nodes", node); code != http.StatusForbidden {
			t.Errorf("foreign Host add: HTTP %d %s; want 403", code, body)
		}
		if code, body := send(g, "", map[string]string{"Sec-Fetch-Site": "same-site"}, "POST", "/admin/reload", ""); code != http.StatusForbidden {
			t.Errorf("same-site reload: HTTP %d %s; want 403", code, body)
		}
		code, body := send(g, "", nil, "GET", "/admin/nodes", "")
		if code != 200 || strings.Contains(body, `"b"`) {
			t.Fatalf("nodes after refused adds: HTTP %d %s", code, body)
		}
		if code, body := send(g, "localhost:"+portOf(g.AdminURL), map[string]string{"Content-Type": "application/json"}, "POST", "/admin/chains/eth/nodes", node); code != http.StatusCreated {
			t.Errorf("JSON add via localhost: HTTP %d %s; want 201", code, body)
		}
	})
	t.Run("token", func(t *testing.T) {
		t.Parallel()
		g := startHardened(t, only, nil, "")
		auth := "Bearer " + g.Token
		h := map[string]string{"Authorization": auth}
		for k, v := range crossSite {
			h[k] = v
		}
		if code, body := send(g, "", h, "POST", "/admin/chains/eth/nodes", node); code != http.StatusForbidden {
			t.Errorf("cross-site add with the token: HTTP %d %s; want 403", code, body)
		}
		if code, body := send(g, "", map[string]string{"Authorization": auth, "Content-Type": "application/json"}, "POST", "/admin/chains/eth/nodes", node); code != http.StatusCreated {
			t.Errorf("the same add with the token and JSON: HTTP %d %s; want 201", code, body)
		}
	})
}

func tokenOf(config string) string {
	for _, line := range strings.Split(config, "\n") {
		if v, ok := strings.CutPrefix(line, "  token: "); ok {
			s, _ := strconv.Unquote(v)
			return s
		}
	}
	return ""
}

func portOf(url string) string { return url[strings.LastIndexByte(url, ':')+1:] }

// Issue 8 (also fix): with Redis unreachable, go-redis wrote plain-text
// lines into the JSON log stream. Every line is now a JSON record, and
// go-redis's own messages arrive as level WARN records.
func TestHardeningRedisDownLogIsJSON(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a")
	ps := StartProxies(t, f)
	redis := redistest.StartServer(t)
	g := startHardened(t, ps, nil, registryYAML(redis.Addr(), "rpcgate-e2e-"+hex.EncodeToString([]byte(t.Name()))[:16]+":"))
	redis.Kill()
	// Calls keep being served while the registry's watch retries.
	for i := 0; i < 20; i++ {
		g.post(context.Background(), "/eth", rpcBody("eth_chainId"))
		time.Sleep(100 * time.Millisecond)
	}
	if err := g.Terminate(t); err != nil {
		t.Fatalf("rpcgate exit: %v", err)
	}
	out := g.out.String()
	redisLines := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		if rec["msg"] == "redis" {
			redisLines++
		}
	}
	if redisLines == 0 {
		t.Errorf("no go-redis message was logged as a record while Redis was down:\n%s", out)
	}
}
