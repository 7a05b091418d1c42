package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/snapshot"
)

// stateAnvil is an anvil keeping its chain in stateFile (--state: loaded at
// start, dumped on a clean exit), mining on request.
type stateAnvil struct {
	*Anvil
	cmd  *exec.Cmd
	done chan struct{}
}

func startStateAnvil(t *testing.T, name, stateFile string) *stateAnvil {
	t.Helper()
	port := freePort()
	a := &stateAnvil{Anvil: &Anvil{Name: name, bin: anvilPath(t), out: &syncBuffer{}, URL: fmt.Sprintf("http://127.0.0.1:%d", port), Port: port}, done: make(chan struct{})}
	a.cmd = exec.Command(a.bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--chain-id", strconv.Itoa(chainID),
		"--timestamp", strconv.Itoa(genesisTime), "--mnemonic", testMnemonic, "--state", stateFile, "--no-mining", "--quiet")
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		_ = a.cmd.Process.Kill()
		<-a.done
		if t.Failed() {
			t.Logf("anvil %s output:\n%s", name, a.out.String())
		}
	})
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := a.Call(ctx, "eth_chainId")
		cancel()
		if err == nil {
			return a
		}
		if i > 300 {
			t.Fatalf("anvil %s not answering: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends anvil cleanly (SIGTERM), which dumps its state file.
func (a *stateAnvil) stop(t *testing.T) {
	t.Helper()
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("anvil %s did not stop on SIGTERM", a.Name)
	}
}

// sendTxs mines n blocks of one value transfer each.
func (a *stateAnvil) sendTxs(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		tx := map[string]string{"from": devAddress.Hex(), "to": otherAddress.Hex(), "value": hexUint(uint64(i + 1))}
		if _, err := a.Call(context.Background(), "eth_sendTransaction", tx); err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		if _, err := a.Call(context.Background(), "evm_mine"); err != nil {
			t.Fatalf("mine %d: %v", i, err)
		}
	}
}

func (a *stateAnvil) block(t *testing.T, n uint64) (hash string, txs int) {
	t.Helper()
	raw, err := a.Call(context.Background(), "eth_getBlockByNumber", hexUint(n), false)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Hash string   `json:"hash"`
		Txs  []string `json:"transactions"`
	}
	if err := json.Unmarshal(raw, &b); err != nil || b.Hash == "" {
		t.Fatalf("block %d: %s %v", n, raw, err)
	}
	return b.Hash, len(b.Txs)
}

// runSnapshot runs `rpcgate snapshot args...` to completion.
func runSnapshot(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(gatewayBin, append([]string{"snapshot"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if err != nil {
		code = -1
		if x, ok := err.(*exec.ExitError); ok {
			code = x.ExitCode()
		}
	}
	return o.String(), e.String(), code
}

// chunkCounter stands between the fetcher and the gateway's /snapshots/
// and counts chunk downloads. When stallAt is reached it sends half of
// that chunk's bytes and then holds the response until released, so a
// test can kill the fetcher in the middle of a chunk.
type chunkCounter struct {
	upstream, token string
	mu              sync.Mutex
	gets            int
	ranges          []string
	stallAt         int
	stalled         chan struct{}
	release         chan struct{}
}

func (c *chunkCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	chunk := strings.HasPrefix(r.URL.Path, "/snapshots/chunks/") && r.Method == http.MethodGet
	stall := false
	c.mu.Lock()
	if chunk {
		c.gets++
		stall = c.gets == c.stallAt
		if rg := r.Header.Get("Range"); rg != "" {
			c.ranges = append(c.ranges, rg)
		}
	}
	c.mu.Unlock()
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, c.upstream+r.URL.Path, nil)
	for _, h := range []string{"Range", "Authorization"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	if !stall {
		io.Copy(w, resp.Body)
		return
	}
	io.CopyN(w, resp.Body, max(1, resp.ContentLength/2))
	w.(http.Flusher).Flush()
	close(c.stalled)
	select {
	case <-c.release:
	case <-r.Context().Done():
	}
	panic(http.ErrAbortHandler)
}

func (c *chunkCounter) reset() (gets int, ranges []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gets, ranges = c.gets, c.ranges
	c.gets, c.ranges, c.stallAt = 0, nil, 0
	return gets, ranges
}

// The issue-16 acceptance run: an anvil with its chain on disk mines 300
// blocks of transactions, stops, and is snapshotted to a store that the
// real `rpcgate serve` serves at /snapshots/ (admin listener, token). A
// second anvil's data dir is fetched from it by the real `rpcgate snapshot
// fetch`, SIGKILLed half way through (in the middle of a chunk), resumed,
// and must finish downloading at most the chunks it was missing plus the
// one it was cut in. The second anvil then starts from the fetched state
// with the same head and blocks.
func TestSnapshotAnvilFetchKilledAndResumed(t *testing.T) {
	if gatewayBuildErr != nil {
		t.Fatal(gatewayBuildErr)
	}
	tmp := t.TempDir()
	dataA, dataB, store, key := filepath.Join(tmp, "a"), filepath.Join(tmp, "b"), filepath.Join(tmp, "store"), filepath.Join(tmp, "key")
	if err := os.Mkdir(dataA, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, e, code := runSnapshot(t, nil, "keygen", "--out", key); code != 0 {
		t.Fatalf("keygen: %s", e)
	}

	a := startStateAnvil(t, "a", filepath.Join(dataA, "state.json"))
	a.sendTxs(t, 300)
	head, err := a.Head()
	if err != nil || head != 300 {
		t.Fatalf("head %d, %v; want 300", head, err)
	}
	want := map[uint64]string{}
	for i := uint64(0); i < 20; i++ {
		n := 1 + i*299/19 // 20 blocks from 1 to 300
		h, txs := a.block(t, n)
		if txs != 1 {
			t.Fatalf("block %d has %d transactions, want 1", n, txs)
		}
		want[n] = h
	}
	headHash := want[300]
	a.stop(t)

	create := func(block uint64, hash string) map[string]any {
		o, e, code := runSnapshot(t, nil, "create", "--data", dataA, "--out", store, "--key", key, "--chain", "eth",
			"--chain-id", strconv.Itoa(chainID), "--block", strconv.FormatUint(block, 10), "--block-hash", hash,
			"--client", "anvil", "--chunk-size", "16KiB")
		if code != 0 {
			t.Fatalf("create: %s", e)
		}
		var sum map[string]any
		if err := json.Unmarshal([]byte(o), &sum); err != nil {
			t.Fatalf("create output %q: %v", o, err)
		}
		return sum
	}
	sum := create(300, headHash)
	manifest := readManifest(t, store, sum["manifest"].(string), key+".pub")
	unique := map[string]bool{}
	for _, c := range manifest.Chunks {
		unique[c.Hash] = true
	}
	total := len(unique)
	if total < 20 {
		t.Fatalf("only %d chunks; the test needs many", total)
	}

	// The gateway serves the store on its admin listener, behind the token.
	proxies := StartProxies(t, StartFleet(t, "n1"))
	cfg := WriteConfigFile(t, proxies, GatewayOpts{}, fmt.Sprintf("snapshots:\n  dir: %q\n  public: false\n", store))
	gw := cfg.Start(t)
	defer gw.stop(t)
	counter := &chunkCounter{upstream: gw.AdminURL, stallAt: total / 2, stalled: make(chan struct{}), release: make(chan struct{})}
	srv := httptest.NewServer(counter)
	defer srv.Close()
	from := srv.URL + "/snapshots/"
	tokenEnv := []string{"RPCGATE_SNAPSHOT_TOKEN=" + cfg.Token}

	// Without the token the store is not served.
	if _, e, code := runSnapshot(t, nil, "fetch", "--from", from, "--data", dataB, "--pubkey", key+".pub"); code == 0 || !strings.Contains(e, "HTTP 401") {
		t.Fatalf("fetch without the admin token: code %d, %s", code, e)
	}

	fetchArgs := []string{"snapshot", "fetch", "--from", from, "--data", dataB, "--pubkey", key + ".pub", "--parallel", "1"}
	first := exec.Command(gatewayBin, fetchArgs...)
	first.Env = append(os.Environ(), tokenEnv...)
	var firstErr bytes.Buffer
	first.Stderr = &firstErr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-counter.stalled:
	case <-time.After(60 * time.Second):
		first.Process.Kill()
		t.Fatalf("the fetch never reached chunk %d of %d: %s", total/2, total, firstErr.String())
	}
	// Kill once the half chunk sent has reached the fetcher's part file
	// (the bytes may still sit in the socket when the proxy stalls).
	parts := filepath.Join(tmp, ".b.snapshot-partial", "parts")
	for deadline := time.Now().Add(30 * time.Second); ; {
		entries, _ := os.ReadDir(parts)
		if len(entries) == 1 {
			if info, err := entries[0].Info(); err == nil && info.Size() > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no partly downloaded chunk in %s: %v", parts, entries)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	close(counter.release)
	firstGets, _ := counter.reset()
	if _, err := os.Stat(dataB); !os.IsNotExist(err) {
		t.Fatalf("a killed fetch left a data dir in place: %v", err)
	}

	o, e, code := runSnapshot(t, tokenEnv, "fetch", "--from", from, "--data", dataB, "--pubkey", key+".pub", "--parallel", "1")
	if code != 0 {
		t.Fatalf("resumed fetch: %s", e)
	}
	secondGets, ranges := counter.reset()
	var fsum struct {
		Present, Fetched, Chunks int
		Block                    uint64
		BlockHash                string `json:"block_hash"`
		Installed                bool
	}
	if err := json.Unmarshal([]byte(o), &fsum); err != nil {
		t.Fatalf("fetch output %q: %v", o, err)
	}
	missing := total - (firstGets - 1) // the last GET of the first run was cut
	t.Logf("%d distinct chunks; first run %d GETs (killed in the last), resumed run %d GETs, %d present", total, firstGets, secondGets, fsum.Present)
	if secondGets > missing+1 || secondGets != fsum.Fetched || !fsum.Installed {
		t.Fatalf("resumed fetch made %d chunk GETs (reported %d), want at most %d missing + 1", secondGets, fsum.Fetched, missing)
	}
	if len(ranges) != 1 || !strings.HasPrefix(ranges[0], "bytes=") || ranges[0] == "bytes=0-" {
		t.Fatalf("the chunk cut in half was not continued with a range request: %q", ranges)
	}
	if fsum.Block != 300 || fsum.BlockHash != headHash {
		t.Fatalf("manifest head %d %s, want 300 %s", fsum.Block, fsum.BlockHash, headHash)
	}
	sameFiles(t, dataA, dataB)
	if _, e, code := runSnapshot(t, tokenEnv, "fetch", "--from", from, "--data", dataB, "--pubkey", key+".pub", "--verify-only"); code != 0 {
		t.Fatalf("--verify-only on the fetched dir: %s", e)
	}

	b := startStateAnvil(t, "b", filepath.Join(dataB, "state.json"))
	if h, err := b.Head(); err != nil || h != 300 {
		t.Fatalf("second anvil head %d, %v; want 300", h, err)
	}
	for n, h := range want {
		if got, _ := b.block(t, n); got != h {
			t.Fatalf("block %d: second anvil %s, first %s", n, got, h)
		}
	}

	// The second anvil joins a gateway through the orchestrator. The
	// fleet is the snapshotted node itself, restarted from its state (head
	// 300); `rpcgate agent` beside the second anvil joins, and verification
	// (chain id, genesis, not syncing, head within max_lag, the hash at
	// head-16 against the fleet) must admit it. That these checks refuse a
	// node of another genesis (--timestamp), chain id, lag or fork is
	// TestOrchestratorRefuses.
	a = startStateAnvil(t, "a2", filepath.Join(dataA, "state.json"))
	joinFromSnapshot(t, a, b)

	// A manifest checked with another publisher's key is refused, and
	// nothing is installed.
	other := filepath.Join(tmp, "other")
	runSnapshot(t, nil, "keygen", "--out", other)
	dataC := filepath.Join(tmp, "c")
	if _, e, code := runSnapshot(t, tokenEnv, "fetch", "--from", from, "--data", dataC, "--pubkey", other+".pub"); code == 0 || !strings.Contains(e, "signed by another key") {
		t.Fatalf("fetch with another key: code %d, %s", code, e)
	}
	if _, err := os.Stat(dataC); !os.IsNotExist(err) {
		t.Fatal("a refused manifest installed a data dir")
	}

	// Dedup: ten more blocks (on the restarted first anvil), a second
	// snapshot into the same store.
	a.sendTxs(t, 10)
	h310, _ := a.block(t, 310)
	a.stop(t)
	before := countChunks(t, store)
	sum2 := create(310, h310)
	uploaded, reused := int(sum2["uploaded"].(float64)), int(sum2["reused"].(float64))
	t.Logf("second snapshot: %v chunks, %d uploaded, %d reused", sum2["chunks"], uploaded, reused)
	// anvil rewrites its whole JSON state file (accounts in hash-map order),
	// so fixed-size chunks past the first change shift: few are shared.
	// Node databases (LSM tables, freezer files) keep unchanged files and
	// share far more; the unit tests pin that case.
	if reused < 1 || countChunks(t, store)-before != uploaded {
		t.Fatalf("second snapshot: %d chunks added to the store, %d reported uploaded, %d reused", countChunks(t, store)-before, uploaded, reused)
	}
}

// joinFromSnapshot runs a gateway whose fleet is fleetNode, with the
// orchestrator on, and `rpcgate agent` beside joiner; the orchestrator
// must admit joiner (listed with source orchestrator, never refused) and
// client reads must reach it and be answered.
func joinFromSnapshot(t *testing.T, fleetNode, joiner *stateAnvil) {
	t.Helper()
	// Both at one head well past 16, so the head-16 comparison is made
	// (below 16 the verifier only compares block 0).
	hf, errF := fleetNode.Head()
	hj, errJ := joiner.Head()
	if errF != nil || errJ != nil || hf != hj || hf < 100 {
		t.Fatalf("fleet node head %d (%v), joining node head %d (%v); want one head >= 100", hf, errF, hj, errJ)
	}
	pf, pj := StartProxy(t, "fleet", fleetNode.URL), StartProxy(t, "fetched", joiner.URL)
	orch := fmt.Sprintf("127.0.0.1:%d", freePort())
	g := WriteConfigFile(t, map[string]*Proxy{"fleet": pf}, GatewayOpts{}, orchestratorYAML(orch, "")).Start(t)
	defer g.stop(t)
	agent := startAgent(t, agentArgs(joiner.URL, pj.URL, "fetched", orch, joinSecret)...)
	defer agent.Signal(syscall.SIGKILL)
	eventually(t, 30*time.Second, "the orchestrator to admit the node started from the snapshot", func() (bool, string) {
		v, raw := g.Orchestrator(t)
		if check, reason, refused := v.refusalOf("fetched"); refused {
			t.Fatalf("the node started from the snapshot was refused: check %q: %s\n%s", check, reason, raw)
		}
		nodes, raw := g.AdminNodes(t)
		return nodes["fetched"].Source == "orchestrator", raw
	})
	load := StartLoad(t, g.URL, 2, balanceRead)
	eventually(t, 30*time.Second, "client reads to reach the node started from the snapshot", func() (bool, string) {
		return pj.Count("eth_getBalance") > 0, fmt.Sprintf("fleet %v, fetched %v", pf.Counts(), pj.Counts())
	})
	load.Stop()
	load.requireNoFailures(t, "reads while the node started from the snapshot joined")
	if v, raw := g.Orchestrator(t); len(v.Refusals) > 0 {
		t.Errorf("refusals recorded: %s", raw)
	}
}

func countChunks(t *testing.T, store string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(store, "chunks"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".zst") {
			n++
		}
		return nil
	})
	return n
}

func readManifest(t *testing.T, store, name, pubFile string) *snapshot.Manifest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(store, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := snapshot.LoadPublicKey(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	m, err := snapshot.Open(raw, pub)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sameFiles fails unless a and b hold the same files with the same bytes.
func sameFiles(t *testing.T, a, b string) {
	t.Helper()
	list := func(root string) map[string]string {
		out := map[string]string{}
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(root, p)
			if d.IsDir() {
				out[rel] = "dir"
				return nil
			}
			bs, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[rel] = string(bs)
			return nil
		})
		return out
	}
	la, lb := list(a), list(b)
	if len(la) != len(lb) {
		t.Fatalf("%d entries vs %d", len(la), len(lb))
	}
	for k, v := range la {
		if lb[k] != v {
			t.Fatalf("%s differs", k)
		}
	}
}

// snapshots.public serves the store on the public listener, with ranges,
// and nothing outside it. Regression: pages on the public (fasthttp)
// listener required Content-Length 0, but a GET without one reads as -2
// there, so /status.json and /snapshots/ were answered 405.
func TestSnapshotServedOnPublicListener(t *testing.T) {
	if gatewayBuildErr != nil {
		t.Fatal(gatewayBuildErr)
	}
	store := t.TempDir()
	if err := os.MkdirAll(filepath.Join(store, "chunks", "ab"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(store, "chunks", "ab", "abc.zst"), []byte("0123456789"), 0o644)
	proxies := StartProxies(t, StartFleet(t, "n1"))
	gw := WriteConfigFile(t, proxies, GatewayOpts{}, fmt.Sprintf("snapshots:\n  dir: %q\n  public: true\n", store)).Start(t)
	defer gw.stop(t)
	get := func(path, rng string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, gw.Base+path, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/snapshots/chunks/ab/abc.zst", "bytes=3-5"); code != http.StatusPartialContent || body != "345" {
		t.Fatalf("range on the public listener: %d %q", code, body)
	}
	if code, _ := get("/snapshots/chunks/ab/", ""); code != http.StatusNotFound {
		t.Fatalf("directory listing: %d", code)
	}
	// The JSON-RPC path still works beside it.
	if code, body := get("/status.json", ""); code != http.StatusOK {
		t.Fatalf("/status.json: %d %s", code, body)
	}
}
