package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Harness for the admin API, registry, reload and shutdown tests: a config
// file that outlives one gateway process, so a gateway can be restarted on
// it, several can run on it at once, and it can be rewritten for SIGHUP.

// The listeners of a ConfigFile come from these environment variables,
// which each process gets its own values of; everything else is shared.
const (
	listenEnv = "RPCGATE_E2E_LISTEN"
	adminEnv  = "RPCGATE_E2E_ADMIN"
)

// ConfigFile is a gateway config on disk (rpcgate.yaml in its own temp
// dir, so the default state file rpcgate.state.json lands beside it).
type ConfigFile struct {
	Path  string
	Token string
	Text  string // what was last written
	// ReadyPath, when set (e.g. "/healthz"), makes Start wait for a GET of
	// that path on the public listener to answer 200 instead of for
	// eth_chainId: for a gateway started with no reachable node. Empty
	// (every other test) keeps the eth_chainId check.
	ReadyPath string
}

// WriteConfigFile renders the config StartGateway would for proxies and
// opts, with ${RPCGATE_E2E_LISTEN} and ${RPCGATE_E2E_ADMIN} as listeners
// and extra (top-level YAML, e.g. a registry block) appended.
func WriteConfigFile(t testing.TB, proxies map[string]*Proxy, opts GatewayOpts, extra string) *ConfigFile {
	t.Helper()
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	c := &ConfigFile{Path: filepath.Join(t.TempDir(), "rpcgate.yaml"), Token: hex.EncodeToString(tok)}
	c.Rewrite(t, proxies, opts, extra)
	return c
}

// Rewrite replaces the file's content with a new rendering (same token and
// listeners), e.g. before a SIGHUP.
func (c *ConfigFile) Rewrite(t testing.TB, proxies map[string]*Proxy, opts GatewayOpts, extra string) {
	t.Helper()
	text := gatewayConfig("${"+listenEnv+"}", "${"+adminEnv+"}", c.Token, proxies, opts)
	c.WriteRaw(t, text+extra)
}

// WriteRaw writes text as the config, as it is.
func (c *ConfigFile) WriteRaw(t testing.TB, text string) {
	t.Helper()
	// Write and rename, so a reload never reads a half-written file.
	tmp := c.Path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, c.Path); err != nil {
		t.Fatal(err)
	}
	c.Text = text
}

// StateFile is where a gateway without a registry key keeps its state.
func (c *ConfigFile) StateFile() string {
	return strings.TrimSuffix(c.Path, filepath.Ext(c.Path)) + ".state.json"
}

// Start runs a new gateway process on the file with fresh listener ports
// and waits until it answers eth_chainId (or, with ReadyPath set, until
// GET ReadyPath answers 200); it is stopped at cleanup.
func (c *ConfigFile) Start(t testing.TB) *Gateway {
	t.Helper()
	if gatewayBuildErr != nil {
		t.Fatalf("rpcgate binary did not build:\n%v", gatewayBuildErr)
	}
	var lastLog string
	for attempt := 0; attempt < 3; attempt++ {
		g, ready, log := c.launch(t)
		if ready {
			return g
		}
		lastLog = log
		if !g.exited() {
			break
		}
	}
	t.Fatalf("rpcgate on %s did not become ready\n%s", c.Path, lastLog)
	return nil
}

func (c *ConfigFile) launch(t testing.TB) (*Gateway, bool, string) {
	t.Helper()
	listen := fmt.Sprintf("127.0.0.1:%d", freePort())
	admin := fmt.Sprintf("127.0.0.1:%d", freePort())
	g := &Gateway{
		URL:      "http://" + listen + "/eth",
		Base:     "http://" + listen,
		AdminURL: "http://" + admin,
		Token:    c.Token,
		Config:   fmt.Sprintf("# %s=%s %s=%s\n%s", listenEnv, listen, adminEnv, admin, c.Text),
		out:      &syncBuffer{},
		done:     make(chan struct{}),
	}
	g.cmd = exec.Command(gatewayBin, "serve", "--config", c.Path)
	g.cmd.Env = append(os.Environ(), listenEnv+"="+listen, adminEnv+"="+admin)
	g.cmd.Stdout = g.out
	g.cmd.Stderr = g.out
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("start rpcgate: %v", err)
	}
	go func() { g.err = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(func() { g.stop(t) })

	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if g.exited() {
			return g, false, fmt.Sprintf("rpcgate exited (%v) before it was ready\nconfig:\n%s\noutput:\n%s", g.err, g.Config, g.out.String())
		}
		var status int
		if c.ReadyPath != "" {
			status = getStatus(g.Base + c.ReadyPath)
		} else {
			status, _, _ = g.post(context.Background(), "/eth", rpcBody("eth_chainId"))
		}
		if status == http.StatusOK {
			return g, true, ""
		}
		time.Sleep(100 * time.Millisecond)
	}
	return g, false, fmt.Sprintf("config:\n%s\noutput:\n%s", g.Config, g.out.String())
}

// Terminate sends SIGTERM and waits for the process to exit, returning its
// exit error (nil for exit status 0).
func (g *Gateway) Terminate(t testing.TB) error {
	t.Helper()
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-g.done:
		return g.err
	case <-time.After(30 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.done
		return fmt.Errorf("still running 30s after SIGTERM; killed")
	}
}

// Signal sends sig to the gateway process.
func (g *Gateway) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := g.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to rpcgate: %v", sig, err)
	}
}

// Admin sends an admin request with the gateway's token; body, when not
// nil, is sent as JSON (a string or []byte as it is).
func (g *Gateway) Admin(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	return g.adminAs(t, "Bearer "+g.Token, method, path, body)
}

// adminAs is Admin with a given Authorization header ("" sends none).
func (g *Gateway) adminAs(t testing.TB, auth, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, g.AdminURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			g.dumpStacks()
		}
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// dumpStacks makes a hung gateway print every goroutine (SIGQUIT) into its
// output, which the test logs on failure; the process exits.
func (g *Gateway) dumpStacks() {
	if g.exited() {
		return
	}
	_ = g.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
	}
}

// adminNode is one node of GET /admin/nodes.
type adminNode struct {
	Name     string   `json:"name"`
	URL      string   `json:"url"`
	Source   string   `json:"source"`
	Groups   []string `json:"groups"`
	State    string   `json:"state"`
	Head     uint64   `json:"head"`
	Lag      uint64   `json:"lag"`
	InFlight int64    `json:"in_flight"`
	Weight   float64  `json:"weight"`
	Workers  int      `json:"workers"`
}

// AdminNodes returns chain eth's nodes by name from GET /admin/nodes, and
// the raw body for messages.
func (g *Gateway) AdminNodes(t testing.TB) (map[string]adminNode, string) {
	t.Helper()
	code, body := g.Admin(t, http.MethodGet, "/admin/nodes", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /admin/nodes: HTTP %d: %s", code, body)
	}
	var doc struct {
		Chains []struct {
			Name  string      `json:"name"`
			Nodes []adminNode `json:"nodes"`
		} `json:"chains"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("GET /admin/nodes: %v: %s", err, body)
	}
	out := map[string]adminNode{}
	for _, c := range doc.Chains {
		if c.Name != "eth" {
			continue
		}
		for _, n := range c.Nodes {
			out[n.Name] = n
		}
	}
	return out, string(body)
}

// addNodeBody is the POST /admin/chains/eth/nodes body for a proxy in the
// default group.
func addNodeBody(name string, p *Proxy) map[string]any {
	return map[string]any{"name": name, "url": p.URL, "groups": []string{"default"}}
}

// ---- client load ----

// readCall is a read the load sends and how to check its answer.
type readCall struct {
	method string
	params []any
}

var (
	balanceRead = readCall{"eth_getBalance", []any{devAddress.Hex(), "latest"}}
	headRead    = readCall{"eth_blockNumber", nil}
	logsRead    = readCall{"eth_getLogs", []any{map[string]any{"fromBlock": "0x0", "toBlock": "latest"}}}
)

// call sends one read through the gateway and returns an error unless the
// answer is HTTP 200 with a non-null result and no error.
func call(ctx context.Context, client *http.Client, url string, id int64, rc readCall) error {
	r := sendRPC(ctx, client, url, nil, rpcBodyID(id, rc.method, rc.params...))
	if r.Err != nil {
		return fmt.Errorf("%s: %w", rc.method, r.Err)
	}
	if r.Status != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d: %.200s", rc.method, r.Status, r.Body)
	}
	var msg struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &msg); err != nil {
		return fmt.Errorf("%s: %v: %.200s", rc.method, err, r.Body)
	}
	if msg.Error != nil || len(msg.Result) == 0 || string(msg.Result) == "null" {
		return fmt.Errorf("%s: no result: %.200s", rc.method, r.Body)
	}
	return nil
}

// Load is client goroutines reading continuously through a gateway.
type Load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ok     atomic.Int64
	byKind sync.Map // method -> *atomic.Int64 of answered calls

	mu       sync.Mutex
	failures []string
	failed   int
}

// StartLoad runs clients goroutines, each cycling through reads, against
// url until Stop (or cleanup).
func StartLoad(t testing.TB, url string, clients int, reads ...readCall) *Load {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &Load{cancel: cancel}
	for _, r := range reads {
		l.byKind.Store(r.method, new(atomic.Int64))
	}
	var ids atomic.Int64
	for i := 0; i < clients; i++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			client := &http.Client{Timeout: 30 * time.Second}
			for n := i; ctx.Err() == nil; n++ {
				rc := reads[n%len(reads)]
				err := call(ctx, client, url, ids.Add(1), rc)
				if ctx.Err() != nil {
					return // cancelled mid-call: not the gateway's fault
				}
				if err != nil {
					l.mu.Lock()
					l.failed++
					if len(l.failures) < 10 {
						l.failures = append(l.failures, err.Error())
					}
					l.mu.Unlock()
					continue
				}
				l.ok.Add(1)
				c, _ := l.byKind.Load(rc.method)
				c.(*atomic.Int64).Add(1)
			}
		}()
	}
	t.Cleanup(l.Stop)
	return l
}

// Answered is how many reads of method have been answered well so far.
func (l *Load) Answered(method string) int64 {
	c, ok := l.byKind.Load(method)
	if !ok {
		return 0
	}
	return c.(*atomic.Int64).Load()
}

// Failed returns how many reads failed and the first few errors.
func (l *Load) Failed() (int, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed, append([]string(nil), l.failures...)
}

// Stop ends the load and waits for its clients. Safe to call twice.
func (l *Load) Stop() {
	l.cancel()
	l.wg.Wait()
}

// waitReads blocks until the load has answered n more calls of method: a
// way to let traffic happen without a wall-clock wait.
func (l *Load) waitReads(t testing.TB, method string, n int64) {
	t.Helper()
	target := l.Answered(method) + n
	eventually(t, 60*time.Second, fmt.Sprintf("%d more %s answers", n, method), func() (bool, string) {
		got := l.Answered(method)
		failed, first := l.Failed()
		return got >= target, fmt.Sprintf("%d of %d answered; %d failed %v", got, target, failed, first)
	})
}

// requireNoFailures fails the test if any read of the load failed.
func (l *Load) requireNoFailures(t testing.TB, what string) {
	t.Helper()
	if n, first := l.Failed(); n > 0 {
		t.Errorf("%s: %d reads failed (of %d answered); first: %v", what, n, l.ok.Load(), first)
	}
}

// ---- Redis (internal/redistest) ----

// registryYAML is the top-level registry block for Redis at addr.
func registryYAML(addr, prefix string) string {
	return fmt.Sprintf("registry:\n  redis: %s\n  prefix: %s\n", strconv.Quote("redis://"+addr+"/0"), strconv.Quote(prefix))
}

// isRefused reports a dial that found no listener.
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// getStatus is the status of a GET of url (0 on a transport error).
func getStatus(url string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
