package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The gateway binary, built once by TestMain. When the build fails, every
// test that needs the gateway fails with the compiler's output.
var (
	gatewayBin      string
	gatewayBuildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rpcgate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gatewayBin = filepath.Join(dir, "rpcgate")
	if bin := os.Getenv("RPCGATE_E2E_BIN"); bin != "" {
		// Test a prebuilt binary (e.g. a release build) instead of building.
		gatewayBin = bin
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	args := []string{"build", "-o", gatewayBin}
	if raceEnabled {
		// Run the gateway under the race detector too when the tests are:
		// real traffic from many clients is where races show.
		args = append(args, "-race")
	}
	args = append(args, "./cmd/rpcgate")
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		gatewayBuildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is two levels above this package (test/e2e).
func repoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "../.."
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// GroupSpec is one entry of a chain's groups.
type GroupSpec struct {
	Methods  []string
	Nodes    []string
	Fallback string
	// Extra is raw YAML for the group's other keys, one per line, indented
	// by eight spaces already (e.g. "        hedge: {off: true}\n").
	Extra string
	// MaxLogsRange renders max_logs_range when > 0.
	MaxLogsRange int
}

// GatewayOpts shape the generated config. Zero values give one chain "eth"
// whose default group holds every proxy.
type GatewayOpts struct {
	Groups map[string]GroupSpec
	// ChainExtra is raw YAML appended to the chain block, indented by four
	// spaces already (e.g. "    methods:\n      deny: [\"admin_*\"]\n").
	ChainExtra string
}

// Gateway is one running `rpcgate serve`.
type Gateway struct {
	URL      string // public endpoint of chain eth: http://<listen>/eth
	Base     string // http://<listen>
	AdminURL string // http://<admin listen>
	Token    string
	Config   string // the YAML it was started with

	cmd  *exec.Cmd
	done chan struct{}
	err  error // exit status, valid after done
	out  *syncBuffer
}

// StartGateway writes a config for the given proxies and opts and starts
// the real binary on it (ConfigFile.Start, the one launcher), waiting until
// it answers eth_chainId on /eth.
func StartGateway(t testing.TB, proxies map[string]*Proxy, opts GatewayOpts) *Gateway {
	t.Helper()
	return WriteConfigFile(t, proxies, opts, "").Start(t)
}

// gatewayConfig renders the YAML. Strings are written double-quoted with Go
// quoting, which YAML reads the same for the ASCII used here.
func gatewayConfig(listen, admin, token string, proxies map[string]*Proxy, opts GatewayOpts) string {
	names := make([]string, 0, len(proxies))
	for n := range proxies {
		names = append(names, n)
	}
	sort.Strings(names)
	groups := opts.Groups
	if groups == nil {
		groups = map[string]GroupSpec{"default": {Nodes: names}}
	}
	var b strings.Builder
	q := strconv.Quote
	list := func(xs []string) string {
		qs := make([]string, len(xs))
		for i, x := range xs {
			qs[i] = q(x)
		}
		return "[" + strings.Join(qs, ", ") + "]"
	}
	fmt.Fprintf(&b, "listen: %s\n", q(listen))
	fmt.Fprintf(&b, "admin:\n  listen: %s\n  token: %s\n", q(admin), q(token))
	fmt.Fprintf(&b, "shutdown_timeout: 5s\n")
	fmt.Fprintf(&b, "chains:\n  eth:\n    chain_id: %d\n    poll_interval: 200ms\n", chainID)
	fmt.Fprintf(&b, "    nodes:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "      %s: {url: %s}\n", n, q(proxies[n].URL))
	}
	fmt.Fprintf(&b, "    groups:\n")
	gnames := make([]string, 0, len(groups))
	for n := range groups {
		gnames = append(gnames, n)
	}
	sort.Strings(gnames)
	for _, n := range gnames {
		gs := groups[n]
		fmt.Fprintf(&b, "      %s:\n        nodes: %s\n", n, list(gs.Nodes))
		if len(gs.Methods) > 0 {
			fmt.Fprintf(&b, "        methods: %s\n", list(gs.Methods))
		}
		if gs.Fallback != "" {
			fmt.Fprintf(&b, "        fallback: %s\n", q(gs.Fallback))
		}
		b.WriteString(gs.Extra)
		if gs.MaxLogsRange > 0 {
			fmt.Fprintf(&b, "        max_logs_range: %d\n", gs.MaxLogsRange)
		}
	}
	b.WriteString(opts.ChainExtra)
	return b.String()
}

func (g *Gateway) exited() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, expects a clean exit, and prints the gateway's output
// when the test failed.
func (g *Gateway) stop(t testing.TB) {
	if !g.exited() {
		_ = g.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-g.done:
			if g.err != nil {
				t.Errorf("rpcgate did not exit cleanly after SIGTERM: %v", g.err)
			}
		case <-time.After(20 * time.Second):
			_ = g.cmd.Process.Kill()
			<-g.done
			t.Errorf("rpcgate still running 20s after SIGTERM; killed")
		}
	}
	if strings.Contains(g.out.String(), "WARNING: DATA RACE") {
		t.Errorf("the race detector found a data race in rpcgate (see its output below)")
	}
	if t.Failed() || os.Getenv("RPCGATE_E2E_LOG") != "" {
		t.Logf("rpcgate config:\n%s\nrpcgate output:\n%s", g.Config, g.out.String())
	}
}

// post sends body to path on the public listener and returns status, headers
// and the whole response body (a transport error's text, with status 0).
func (g *Gateway) post(ctx context.Context, path string, body []byte) (int, http.Header, []byte) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r := sendRPC(ctx, http.DefaultClient, g.Base+path, nil, body)
	if r.Err != nil && r.Status == 0 {
		return 0, nil, []byte(r.Err.Error())
	}
	return r.Status, r.Header, r.Body
}

// Metric reads one sample from the admin /metrics. ok is false when the
// metric or the label combination is absent.
func (g *Gateway) Metric(t testing.TB, name string, labels map[string]string) (value float64, ok bool) {
	t.Helper()
	families, err := g.metrics()
	if err != nil {
		t.Fatalf("read %s/metrics: %v", g.AdminURL, err)
	}
	fam, found := families[name]
	if !found {
		return 0, false
	}
next:
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

func (g *Gateway) metrics() (map[string]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.AdminURL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+g.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	return fams, nil
}

// nodeMetric is Metric for a per-node gauge of chain eth.
func (g *Gateway) nodeMetric(t testing.TB, name, node string) (float64, bool) {
	t.Helper()
	return g.Metric(t, name, map[string]string{"chain": "eth", "node": node})
}

// eventually polls cond every 100ms until it returns true or timeout passes,
// then fails with the last description cond gave.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, desc := cond()
		if ok {
			return
		}
		last = desc
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last: %s", timeout, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
