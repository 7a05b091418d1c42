package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// adminError is the JSON body of a refused admin call.
type adminError struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

func decodeAdminError(t *testing.T, body []byte) adminError {
	t.Helper()
	var e adminError
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("admin answer is not JSON: %v: %s", err, body)
	}
	return e
}

// validateOutput runs `rpcgate validate` on yaml and returns its stderr,
// failing unless it exits 1 (problems found).
func validateOutput(t *testing.T, yaml string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "nodes.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gatewayBin, "validate", "--config", file)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("rpcgate validate: %v, want exit status 1; stderr:\n%s", err, stderr.String())
	}
	return stderr.String()
}

// Acceptance (issue 7): an admin add with a header name that the config
// would refuse is refused with the same message as `rpcgate validate`
// gives. Before, the admin path accepted any non-empty header name. The
// same holds for the documented maxima of weight and workers.
func TestNodeSpecAdminRefusesWhatValidateRefuses(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b")
	ps := StartProxies(t, f)
	g := StartGateway(t, map[string]*Proxy{"a": ps["a"]}, GatewayOpts{})

	for _, tc := range []struct {
		name  string
		body  map[string]any
		yaml  string // the node's extra settings in a config file
		field string
	}{
		{"header name with a space", map[string]any{"headers": map[string]string{"X Api Key": "k"}}, `headers: {"X Api Key": k}`, "headers"},
		{"header name with a slash", map[string]any{"headers": map[string]string{"X/Key": "k"}}, `headers: {"X/Key": k}`, "headers"},
		{"weight above its maximum", map[string]any{"weight": 100000}, `weight: 100000`, "weight"},
		{"workers above its maximum", map[string]any{"workers": 1000000}, `workers: 1000000`, "workers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"name": "b", "url": ps["b"].URL, "groups": []string{"default"}}
			for k, v := range tc.body {
				body[k] = v
			}
			code, raw := g.Admin(t, http.MethodPost, "/admin/chains/eth/nodes", body)
			if code != http.StatusBadRequest {
				t.Fatalf("admin add: HTTP %d, want 400: %s", code, raw)
			}
			answer := decodeAdminError(t, raw)
			if answer.Field != tc.field {
				t.Errorf("admin add names field %q, want %q", answer.Field, tc.field)
			}
			yaml := fmt.Sprintf("chains:\n  eth:\n    chain_id: %d\n    nodes:\n      b: {url: %s, %s}\n    groups: {default: {nodes: [b]}}\n",
				chainID, strconv.Quote(ps["b"].URL), tc.yaml)
			out := validateOutput(t, yaml)
			first := strings.SplitN(out, "\n", 2)[0] // file:line:col: msg (hint: ...)
			if !strings.HasSuffix(first, ": "+answer.Error) {
				t.Errorf("messages differ:\n  admin:    %s\n  validate: %s", answer.Error, first)
			}
			if !strings.Contains(first, "nodes.yaml:5:") {
				t.Errorf("validate does not place the problem at line 5: %s", first)
			}
		})
	}
	if nodes, raw := g.AdminNodes(t); len(nodes) != 1 {
		t.Errorf("a refused node was added: %s", raw)
	}
}

// URL schemes are compared without regard to case, on every path: a node
// added as HTTP://... is verified, admitted and serves reads.
func TestNodeSpecAdminUpperCaseSchemeServes(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b")
	ps := StartProxies(t, f)
	g := StartGateway(t, map[string]*Proxy{"a": ps["a"]}, GatewayOpts{})
	url := "HTTP://" + strings.TrimPrefix(ps["b"].URL, "http://")
	code, body := g.Admin(t, http.MethodPost, "/admin/chains/eth/nodes", map[string]any{"name": "b", "url": url})
	if code != http.StatusCreated {
		t.Fatalf("add %s: HTTP %d, want 201: %s", url, code, body)
	}
	eventually(t, 30*time.Second, "node b ok", func() (bool, string) {
		nodes, raw := g.AdminNodes(t)
		return nodes["b"].State == "ok", raw
	})
}

// Verification failures: a wrong chain id is said as it is; everything
// else (closed port, open port of another service, the gateway's own
// listener aside) is "node unreachable", whatever the port does.
func TestNodeSpecAdminVerifyMessages(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a")
	ps := StartProxies(t, f)
	g := StartGateway(t, map[string]*Proxy{"a": ps["a"]}, GatewayOpts{})
	foreign := StartForeignAnvil(t, "foreign", chainID+1)

	code, body := g.Admin(t, http.MethodPost, "/admin/chains/eth/nodes", map[string]any{"name": "f", "url": foreign.URL})
	if e := decodeAdminError(t, body); code != http.StatusUnprocessableEntity ||
		!strings.Contains(e.Error, fmt.Sprintf("reports chain id %d, want %d", chainID+1, chainID)) {
		t.Errorf("wrong chain: HTTP %d %s; want 422 naming both chain ids", code, body)
	}

	closed := fmt.Sprintf("http://127.0.0.1:%d", freePort())
	banner, err := net.Listen("tcp", "127.0.0.1:0") // open, but not HTTP
	if err != nil {
		t.Fatal(err)
	}
	defer banner.Close()
	go func() {
		for {
			c, err := banner.Accept()
			if err != nil {
				return
			}
			fmt.Fprint(c, "SSH-2.0-OpenSSH_9.6\r\n")
			c.Close()
		}
	}()
	open := "http://" + banner.Addr().String()
	var texts []string
	for _, url := range []string{closed, open} {
		code, body := g.Admin(t, http.MethodPost, "/admin/chains/eth/nodes", map[string]any{"name": "x", "url": url})
		if code != http.StatusUnprocessableEntity {
			t.Errorf("add %s: HTTP %d, want 422: %s", url, code, body)
		}
		texts = append(texts, decodeAdminError(t, body).Error)
	}
	if texts[0] != texts[1] || texts[0] != "node failed verification: node unreachable" {
		t.Errorf("a closed and an open port are told apart: %q vs %q", texts[0], texts[1])
	}

	// The gateway's own listeners would be a request loop.
	for _, url := range []string{g.URL, g.AdminURL} {
		code, body := g.Admin(t, http.MethodPost, "/admin/chains/eth/nodes", map[string]any{"name": "loop", "url": url})
		if e := decodeAdminError(t, body); code != http.StatusBadRequest || e.Field != "url" || !strings.Contains(e.Error, "own listener") {
			t.Errorf("add own listener %s: HTTP %d %s; want 400 on url", url, code, body)
		}
	}
}

// Regression (issue 7): "node admitted" carried "chain" twice, once from
// the chain's logger and once added by the node.
func TestNodeSpecAdmittedLogNamesChainOnce(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a")
	ps := StartProxies(t, f)
	g := StartGateway(t, map[string]*Proxy{"a": ps["a"]}, GatewayOpts{})
	var line string
	eventually(t, 30*time.Second, "a node admitted line", func() (bool, string) {
		for _, l := range strings.Split(g.out.String(), "\n") {
			if strings.Contains(l, "node admitted") {
				line = l
				return true, ""
			}
		}
		return false, g.out.String()
	})
	if n := strings.Count(line, `"chain":`); n != 1 {
		t.Errorf(`"chain" appears %d times, want once: %s`, n, line)
	}
}
