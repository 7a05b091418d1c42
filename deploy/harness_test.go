package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

// What the deployment tests share: a real rpcgate binary, real anvil nodes
// and a running gateway. Everything runs on loopback.

const anvilInstaller = "scripts/install-anvil.sh"

// buildFlags are the build-info values stamped into every binary the tests
// build, so a test can see them come back out of `rpcgate version` and the
// image's labels.
var buildFlags = struct{ version, commit, date string }{"v0.0.0-deploytest", "0123456789abcdef", "2026-01-02T03:04:05Z"}

// buildRpcgate builds a static rpcgate (as the Dockerfile does) into dir.
func buildRpcgate(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "rpcgate")
	const pkg = "github.com/rpcgate/rpcgate/internal/buildinfo"
	ldflags := fmt.Sprintf("-s -w -X %s.Version=%s -X %s.Commit=%s -X %s.Date=%s",
		pkg, buildFlags.version, pkg, buildFlags.commit, pkg, buildFlags.date)
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, "../cmd/rpcgate")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build rpcgate: %v\n%s", err, b)
	}
	return out
}

// validate runs `rpcgate validate` on a config and fails the test with
// every problem it prints.
func validate(t *testing.T, bin, cfg string, env []string) {
	t.Helper()
	cmd := exec.Command(bin, "validate", "--config", cfg)
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("rpcgate validate %s: %v\n%s", cfg, err, b)
	} else {
		t.Logf("%s", bytes.TrimSpace(b))
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func anvilPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("ANVIL")
	if p == "" {
		if out, err := exec.Command("bash", "../"+anvilInstaller).Output(); err == nil {
			p = strings.TrimSpace(string(out))
		}
	}
	if p == "" {
		t.Fatalf("anvil not found: set ANVIL or run %s (make test does)", anvilInstaller)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("ANVIL=%s: %v; run %s", p, err, anvilInstaller)
	}
	return p
}

// process is a child the test started; it is killed and waited for when the
// test ends.
type process struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, env []string, name string, args ...string) *process {
	t.Helper()
	p := &process{out: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(name, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// exited reports whether the process has ended (and puts the result back).
func (p *process) exited() (error, bool) {
	select {
	case err := <-p.done:
		p.done <- err
		return err, true
	default:
		return nil, false
	}
}

// rpc posts one JSON-RPC call and returns its result.
func rpc(ctx context.Context, url, method string) (json.RawMessage, error) {
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":%q,"params":[]}`, method)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var m struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("HTTP %d, not JSON-RPC: %q", resp.StatusCode, b)
	}
	if m.Error != nil {
		return nil, fmt.Errorf("error %d: %s", m.Error.Code, m.Error.Message)
	}
	return m.Result, nil
}

// startAnvil runs one anvil with the given chain id on a free loopback port
// and returns its URL once it answers eth_chainId. A port taken between
// picking and binding makes anvil exit: it is tried again on another port.
func startAnvil(t *testing.T, chainID int) string {
	t.Helper()
	bin := anvilPath(t)
	for try := 0; try < 3; try++ {
		port := freePort(t)
		p := start(t, os.Environ(), bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
			"--chain-id", strconv.Itoa(chainID), "--silent")
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		for i := 0; i < 300; i++ {
			if _, gone := p.exited(); gone {
				break
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := rpc(ctx, url, "eth_chainId")
			cancel()
			if err == nil {
				return url
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("anvil on port %d did not come up:\n%s", port, p.out.String())
	}
	t.Fatal("anvil did not start")
	return ""
}

// waitReady runs `rpcgate health --url` until it exits 0: the same check
// the image's HEALTHCHECK and the orchestrators run. It fails the test when
// the gateway exits first or is not ready after a bounded number of tries.
func waitReady(t *testing.T, bin string, gw *process, url string) {
	t.Helper()
	var last []byte
	for i := 0; i < 300; i++ {
		if err, gone := gw.exited(); gone {
			t.Fatalf("rpcgate exited (%v) before it was ready:\n%s", err, gw.out.String())
		}
		out, err := exec.Command(bin, "health", "--url", url, "--timeout", "2s").CombinedOutput()
		if err == nil {
			return
		}
		last = out
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("rpcgate health --url %s never exited 0; last: %s\nrpcgate output:\n%s", url, last, gw.out.String())
}

// stopGateway sends SIGTERM and expects a clean exit (code 0).
func stopGateway(t *testing.T, gw *process) {
	t.Helper()
	if err := gw.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case err := <-gw.done:
		gw.done <- err
		if err != nil {
			t.Errorf("rpcgate exited with %v after SIGTERM:\n%s", err, gw.out.String())
		}
	case <-time.After(time.Minute):
		t.Errorf("rpcgate still running a minute after SIGTERM:\n%s", gw.out.String())
	}
}
