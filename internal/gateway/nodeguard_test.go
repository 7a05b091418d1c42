package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/admin"
	"github.com/rpcgate/rpcgate/internal/config"
)

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// chainYAML is one chain whose only node is at a closed port: the tests
// here add nodes, they never send traffic.
func chainYAML(t *testing.T) string {
	return fmt.Sprintf(`
chains:
  eth:
    chain_id: 1337
    health: {probe_timeout: 300ms}
    nodes: {a: {url: "http://%s"}}
    groups: {default: {nodes: [a]}}
`, closedPort(t))
}

// startGateway runs a gateway on listen (public) and 127.0.0.1:0 (admin)
// with extra admin settings, until the test ends.
func startGateway(t *testing.T, listen, adminExtra string) *Gateway {
	t.Helper()
	yaml := fmt.Sprintf("listen: %q\nadmin: {listen: \"127.0.0.1:0\"%s}\n%s", listen, adminExtra, chainYAML(t))
	cfg, err := config.Parse("gateway_test.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, slog.New(slog.DiscardHandler), "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	return g
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func add(g *Gateway, url string) error {
	return g.AddNode(context.Background(), "eth", admin.NodeSpec{Name: "x", URL: url})
}

// wantRefused asserts an *admin.InvalidError on field url mentioning text.
func wantRefused(t *testing.T, url string, err error, text string) {
	t.Helper()
	var inv *admin.InvalidError
	if !errors.As(err, &inv) || inv.Field != "url" || !strings.Contains(inv.Msg, text) {
		t.Errorf("add %s: %v (%T), want a url error saying %q", url, err, err, text)
	}
}

// wantUnreachable asserts the one answer for every failed verification.
func wantUnreachable(t *testing.T, url string, err error) {
	t.Helper()
	var ve *admin.VerifyError
	if !errors.As(err, &ve) || err.Error() != "node failed verification: node unreachable" {
		t.Errorf("add %s: %v (%T), want exactly \"node failed verification: node unreachable\"", url, err, err)
	}
}

// A node URL that is the gateway's own listener would send every request
// it gets back into the gateway (a loop: 30 calls became 54). Refused by
// address, by loopback name, and in IPv4-mapped IPv6 form.
func TestAddNodeRefusesOwnListeners(t *testing.T) {
	t.Parallel()
	g := startGateway(t, "127.0.0.1:0", "")
	pub, adm := port(t, g.Addr()), port(t, g.AdminAddr())
	for _, url := range []string{
		"http://127.0.0.1:" + pub + "/eth",
		"HTTP://LOCALHOST:" + pub,
		"http://[::ffff:127.0.0.1]:" + pub,
		"http://0.0.0.0:" + pub,
		"http://127.0.0.1:" + adm + "/admin",
	} {
		wantRefused(t, url, add(g, url), "own listener")
	}
	// Another local port is not the gateway: it fails verification only.
	other := "http://" + closedPort(t)
	wantUnreachable(t, other, add(g, other))
	if g.chain("eth").Node("x") != nil {
		t.Error("a refused node was added")
	}
}

// A listener bound to every address (0.0.0.0) is reached through any of
// the host's addresses.
func TestAddNodeRefusesOwnListenerOnEveryAddress(t *testing.T) {
	t.Parallel()
	g := startGateway(t, "0.0.0.0:0", "")
	pub := port(t, g.Addr())
	urls := []string{"http://127.0.0.1:" + pub, "http://127.0.0.2:" + pub}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
				urls = append(urls, "http://"+net.JoinHostPort(n.IP.String(), pub))
			}
		}
	}
	for _, url := range urls {
		wantRefused(t, url, add(g, url), "own listener")
	}
}

// The admin caller learns "unreachable" and nothing else, whether the
// port is closed, open to something that is not HTTP, open to a web
// server, or the name does not resolve: the admin API is no port scanner.
func TestAddNodeUnreachableTellsNothingMore(t *testing.T) {
	t.Parallel()
	g := startGateway(t, "127.0.0.1:0", "")

	raw, err := net.Listen("tcp", "127.0.0.1:0") // accepts, says nothing, closes
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	go func() {
		for {
			c, err := raw.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	web := httptest.NewServer(http.NotFoundHandler())
	defer web.Close()
	banner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "SSH-2.0-OpenSSH_9.6")
	}))
	defer banner.Close()

	for _, url := range []string{
		"http://" + closedPort(t),
		"http://" + raw.Addr().String(),
		web.URL,
		banner.URL,
		"http://no-such-node.invalid:8545",
	} {
		wantUnreachable(t, url, add(g, url))
	}
}

// Link-local and cloud metadata addresses are refused unless
// admin.allow_node_hosts lists them.
func TestAddNodeRefusesMetadataAndLinkLocal(t *testing.T) {
	t.Parallel()
	g := startGateway(t, "127.0.0.1:0", "")
	for url, text := range map[string]string{
		"http://169.254.169.254/latest":       "cloud metadata",
		"http://[fd00:ec2::254]/":             "cloud metadata",
		"http://169.254.10.10:8545":           "link-local",
		"http://[fe80::1]:8545":               "link-local",
		"http://metadata.google.internal/":    "metadata service",
		"http://Metadata.Google.Internal./x":  "metadata service",
		"ws://169.254.169.254:8546 (ws only)": "",
	} {
		if text == "" {
			err := g.AddNode(context.Background(), "eth", admin.NodeSpec{Name: "x", URL: "http://" + closedPort(t), WS: "ws://169.254.169.254:8546"})
			var inv *admin.InvalidError
			if !errors.As(err, &inv) || inv.Field != "ws" {
				t.Errorf("ws at a metadata address: %v, want a ws error", err)
			}
			continue
		}
		wantRefused(t, url, add(g, url), text)
	}

	// Listed, they pass the guard and are judged by verification alone.
	listed := startGateway(t, "127.0.0.1:0", `, allow_node_hosts: [169.254.169.254/32, "metadata.google.internal"]`)
	for _, url := range []string{"http://169.254.169.254:1/", "http://metadata.google.internal:1/"} {
		wantUnreachable(t, url, add(listed, url))
	}
	// A glob does not list a metadata name: it must be named exactly.
	globbed := startGateway(t, "127.0.0.1:0", `, allow_node_hosts: ["*.internal", "*"]`)
	wantRefused(t, "http://metadata.google.internal/", add(globbed, "http://metadata.google.internal/"), "metadata service")
}

// With admin.allow_node_hosts, a node must match a host glob or have
// every address inside a listed network.
func TestAddNodeAllowNodeHosts(t *testing.T) {
	t.Parallel()
	g := startGateway(t, "127.0.0.1:0", `, allow_node_hosts: [localhost, 10.0.0.0/8]`)
	closed := closedPort(t)
	url := "http://" + closed
	wantRefused(t, url, add(g, url), "admin.allow_node_hosts")
	url = "http://localhost:" + port(t, closed)
	wantUnreachable(t, url, add(g, url)) // allowed by name, then verified
	url = "http://10.255.255.1:1"
	wantUnreachable(t, url, add(g, url)) // allowed by network, then verified

	cidr := startGateway(t, "127.0.0.1:0", `, allow_node_hosts: [127.0.0.0/8]`)
	url = "http://" + closed
	wantUnreachable(t, url, add(cidr, url))
}

// Acceptance (issue 7): an admin add with a header name the config file
// would refuse is refused with the message `rpcgate validate` gives, and
// so are the numbers beyond their documented maxima. Checked on the admin
// listener's JSON answer against config.Parse's problem.
func TestAddNodeSpecProblemIsTheConfigs(t *testing.T) {
	t.Parallel()
	g := startGateway(t, "127.0.0.1:0", "")
	url := "http://" + closedPort(t)
	for _, tc := range []struct {
		name string
		body map[string]any
		yaml string // the same node in a config file, as node "x"
	}{
		{"header name with a space", map[string]any{"headers": map[string]string{"X Key": "v"}}, `headers: {"X Key": v}`},
		{"header name with a colon", map[string]any{"headers": map[string]string{"X-Key:": "v"}}, `headers: {"X-Key:": v}`},
		{"header value with a line break", map[string]any{"headers": map[string]string{"X-Key": "a\r\nHost: x"}}, `headers: {X-Key: "a\r\nHost: x"}`},
		{"weight above 1000", map[string]any{"weight": 1001}, `weight: 1001`},
		{"workers above 4096", map[string]any{"workers": 5000}, `workers: 5000`},
		{"ws with an http scheme", map[string]any{"ws": "http://h"}, `ws: "http://h"`},
		{"queue above 32768", map[string]any{"queue": 40000}, `queue: 40000`},
		{"max_request_bytes above 1 GiB", map[string]any{"max_request_bytes": 2 << 30}, `max_request_bytes: 2147483648`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"name": "x", "url": url}
			for k, v := range tc.body {
				body[k] = v
			}
			status, answer := postAdmin(t, g, "/admin/chains/eth/nodes", body)
			if status != http.StatusBadRequest {
				t.Fatalf("HTTP %d, want 400: %+v", status, answer)
			}
			yaml := fmt.Sprintf("chains:\n  eth:\n    chain_id: 1\n    nodes:\n      x: {url: %q, %s}\n    groups: {default: {nodes: [x]}}\n", url, tc.yaml)
			_, err := config.Parse("nodes.yaml", []byte(yaml), nil)
			ps, ok := config.AsProblems(err)
			if !ok || len(ps) != 1 {
				t.Fatalf("config: %v, want one problem", err)
			}
			want := ps[0].Msg + " (hint: " + ps[0].Hint + ")"
			if answer.Error != want {
				t.Errorf("admin says  %q\nconfig says %q", answer.Error, want)
			}
			if !strings.HasSuffix(ps[0].String(), ": "+answer.Error) {
				t.Errorf("rpcgate validate prints %q, which does not end with the admin answer %q", ps[0].String(), answer.Error)
			}
		})
	}
}

type adminAnswer struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

func postAdmin(t *testing.T, g *Gateway, path string, body any) (int, adminAnswer) {
	t.Helper()
	data, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, "http://"+g.AdminAddr()+path, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a adminAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, a
}
