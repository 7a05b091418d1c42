package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// The fleet's fixed chain parameters. Every anvil gets the same ones, so their
// genesis blocks are byte-identical.
const (
	chainID        = 1337
	genesisTime    = 1700000000
	blockInterval  = 12 // seconds between block timestamps, set on every node
	testMnemonic   = "test test test test test test test test test test test junk"
	anvilInstaller = "scripts/install-anvil.sh"
)

// anvilPath finds the anvil binary: $ANVIL, else the cache that
// scripts/install-anvil.sh fills. It never skips: a missing node is a failure.
func anvilPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ANVIL"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("ANVIL=%s: %v; run %s (or make test) to install anvil", p, err, anvilInstaller)
		}
		return p
	}
	tools := os.Getenv("RPCGATE_TOOLS_DIR")
	if tools == "" {
		tools = filepath.Join(repoRoot(), ".cache", "tools")
	}
	p := filepath.Join(tools, "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("anvil not found (ANVIL is unset and %s is missing): run %s (or make test) to install anvil", p, anvilInstaller)
	}
	return p
}

// Anvil is one real anvil process. Its state lives in memory only: a killed
// node loses its chain, and Restart brings back a fresh genesis.
type Anvil struct {
	Name string
	Port int
	URL  string // direct http URL, bypassing every proxy

	bin     string
	chainID int      // 0: the fleet's chainID
	genesis int      // 0: genesisTime (another value gives another genesis block)
	extra   []string // extra anvil flags (e.g. --slots-in-an-epoch)
	// blockTime, when set, makes anvil mine on its own every blockTime
	// seconds (--block-time) instead of only when told (--no-mining).
	blockTime int
	mu        sync.Mutex
	cmd       *exec.Cmd
	done      chan struct{} // closed when the process has exited
	out       *syncBuffer
}

// Fleet is a set of anvils holding the same chain.
type Fleet struct {
	t     testing.TB
	Nodes []*Anvil
}

// StartFleet starts one anvil per name, all with identical chain parameters,
// and stops them at cleanup.
func StartFleet(t testing.TB, names ...string) *Fleet {
	t.Helper()
	bin := anvilPath(t)
	f := &Fleet{t: t}
	for _, name := range names {
		a := &Anvil{Name: name, bin: bin, out: &syncBuffer{}}
		t.Cleanup(func() {
			a.Kill()
			if t.Failed() && a.out.Len() > 0 {
				t.Logf("anvil %s output:\n%s", a.Name, a.out.String())
			}
		})
		if err := a.start(0); err != nil {
			t.Fatalf("start anvil %s: %v", name, err)
		}
		f.Nodes = append(f.Nodes, a)
	}
	f.RequireIdentical()
	return f
}

// StartForeignAnvil starts one anvil like the fleet's but reporting chain
// id id: a node pointed at the wrong network. It is stopped at cleanup.
func StartForeignAnvil(t testing.TB, name string, id int) *Anvil {
	t.Helper()
	a := &Anvil{Name: name, bin: anvilPath(t), chainID: id, out: &syncBuffer{}}
	t.Cleanup(func() {
		a.Kill()
		if t.Failed() && a.out.Len() > 0 {
			t.Logf("anvil %s output:\n%s", a.Name, a.out.String())
		}
	})
	if err := a.start(0); err != nil {
		t.Fatalf("start anvil %s (chain id %d): %v", name, id, err)
	}
	return a
}

// start launches anvil on port (0: a free one) and waits until it answers.
// A port picked from :0 can be taken by someone else before anvil binds it,
// so a start that dies early is retried on a new port.
func (a *Anvil) start(port int) error {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p := port
		if p == 0 {
			p = freePort()
		}
		if err := a.launch(p); err != nil {
			lastErr = err
			if port != 0 {
				// Restart on a fixed port: the old socket may linger briefly.
				time.Sleep(500 * time.Millisecond)
			}
			continue
		}
		return nil
	}
	return lastErr
}

func (a *Anvil) launch(port int) error {
	id := chainID
	if a.chainID != 0 {
		id = a.chainID
	}
	ts := genesisTime
	if a.genesis != 0 {
		ts = a.genesis
	}
	cmd := exec.Command(a.bin,
		"--host", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--chain-id", strconv.Itoa(id),
		"--timestamp", strconv.Itoa(ts),
		"--mnemonic", testMnemonic,
		"--quiet",
	)
	if a.blockTime > 0 {
		cmd.Args = append(cmd.Args, "--block-time", strconv.Itoa(a.blockTime))
	} else {
		cmd.Args = append(cmd.Args, "--no-mining")
	}
	cmd.Args = append(cmd.Args, a.extra...)
	cmd.Stdout = a.out
	cmd.Stderr = a.out
	// If the test binary dies (timeout panic, ^C) the kernel kills anvil too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()

	a.mu.Lock()
	a.cmd, a.done, a.Port = cmd, done, port
	a.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	a.mu.Unlock()

	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("anvil exited during start on port %d: %s", port, a.out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := a.Call(ctx, "eth_chainId")
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("anvil on port %d not answering after 15s: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Without a fixed interval, anvil stamps blocks with wall-clock time and
	// nodes started a second apart mine different blocks (the timestamp also
	// lands in state via the EIP-4788 beacon-roots contract).
	if _, err := a.Call(context.Background(), "anvil_setBlockTimestampInterval", blockInterval); err != nil {
		return fmt.Errorf("anvil_setBlockTimestampInterval: %v", err)
	}
	return nil
}

// Kill SIGKILLs the process and waits until it is gone. Safe to call twice.
func (a *Anvil) Kill() {
	a.mu.Lock()
	cmd, done := a.cmd, a.done
	a.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// Alive reports whether the process is still running.
func (a *Anvil) Alive() bool {
	a.mu.Lock()
	done := a.done
	a.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Restart kills the node and starts a fresh one on the same port. The new
// node is at genesis; mine it back to the fleet's height with Mine.
func (a *Anvil) Restart() error {
	a.Kill()
	return a.start(a.Port)
}

// Call makes one JSON-RPC call straight to the node.
func (a *Anvil) Call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	a.mu.Lock()
	url := a.URL
	a.mu.Unlock()
	r := sendRPC(ctx, http.DefaultClient, url, nil, rpcBody(method, params...))
	if r.Err != nil {
		return nil, r.Err
	}
	var msg struct {
		Result json.RawMessage `json:"result"`
		Error  *rpcError       `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &msg); err != nil {
		return nil, fmt.Errorf("%s on %s: HTTP %d: %v", method, a.Name, r.Status, err)
	}
	if msg.Error != nil {
		return nil, msg.Error
	}
	return msg.Result, nil
}

// Node returns the node with the given name.
func (f *Fleet) Node(name string) *Anvil {
	for _, a := range f.Nodes {
		if a.Name == name {
			return a
		}
	}
	f.t.Fatalf("no anvil named %q", name)
	return nil
}

// pick returns the named nodes, or every live node when names is empty.
func (f *Fleet) pick(names []string) []*Anvil {
	if len(names) == 0 {
		var live []*Anvil
		for _, a := range f.Nodes {
			if a.Alive() {
				live = append(live, a)
			}
		}
		return live
	}
	nodes := make([]*Anvil, 0, len(names))
	for _, n := range names {
		nodes = append(nodes, f.Node(n))
	}
	return nodes
}

// Mine mines n blocks on the named nodes (all live nodes when none are
// named). Mining fewer blocks on some nodes makes them lag; mining the
// difference later makes them catch up with identical blocks.
func (f *Fleet) Mine(n int, names ...string) {
	f.t.Helper()
	for _, a := range f.pick(names) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := a.Call(ctx, "anvil_mine", hexUint(uint64(n)), hexUint(blockInterval))
		cancel()
		if err != nil {
			f.t.Fatalf("anvil_mine %d on %s: %v", n, a.Name, err)
		}
	}
	if len(names) == 0 {
		f.RequireIdentical()
	}
}

// Kill SIGKILLs the named node.
func (f *Fleet) Kill(name string) { f.Node(name).Kill() }

// SetNextTimestamp fixes the next block's timestamp on the named nodes (all
// live nodes when none are named). The fleet already stamps blocks at a fixed
// interval; this is for tests that need a particular time.
func (f *Fleet) SetNextTimestamp(ts uint64, names ...string) {
	f.t.Helper()
	for _, a := range f.pick(names) {
		if _, err := a.Call(context.Background(), "evm_setNextBlockTimestamp", ts); err != nil {
			f.t.Fatalf("evm_setNextBlockTimestamp on %s: %v", a.Name, err)
		}
	}
}

// Do calls method with params on the named nodes (all live nodes when none
// are named), e.g. anvil_setCode to change state identically everywhere.
func (f *Fleet) Do(method string, params []any, names ...string) {
	f.t.Helper()
	for _, a := range f.pick(names) {
		if _, err := a.Call(context.Background(), method, params...); err != nil {
			f.t.Fatalf("%s on %s: %v", method, a.Name, err)
		}
	}
}

// BroadcastRaw submits a signed transaction to every live node, standing in
// for p2p gossip. A node that already has it (e.g. the gateway sent it there)
// is fine.
func (f *Fleet) BroadcastRaw(raw []byte) {
	f.t.Helper()
	hexTx := "0x" + fmt.Sprintf("%x", raw)
	for _, a := range f.pick(nil) {
		_, err := a.Call(context.Background(), "eth_sendRawTransaction", hexTx)
		var re *rpcError
		if errors.As(err, &re) && strings.Contains(strings.ToLower(re.Message), "already") {
			continue // test tooling may read messages; the gateway must not
		}
		if err != nil {
			f.t.Fatalf("eth_sendRawTransaction on %s: %v", a.Name, err)
		}
	}
}

// BlockHash returns the hash of block num on node a ("" when it has none).
func (a *Anvil) BlockHash(num uint64) (string, error) {
	raw, err := a.Call(context.Background(), "eth_getBlockByNumber", hexUint(num), false)
	if err != nil {
		return "", err
	}
	if string(raw) == "null" {
		return "", nil
	}
	var b struct {
		Hash string `json:"hash"`
	}
	err = json.Unmarshal(raw, &b)
	return b.Hash, err
}

// Head returns the node's latest block number.
func (a *Anvil) Head() (uint64, error) {
	raw, err := a.Call(context.Background(), "eth_blockNumber")
	if err != nil {
		return 0, err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
}

// RequireIdentical fails the test unless every live node has the same head
// and the same hash for every block up to it: the fleet's premise.
func (f *Fleet) RequireIdentical() {
	f.t.Helper()
	nodes := f.pick(nil)
	if len(nodes) == 0 {
		return
	}
	heads := make([]uint64, len(nodes))
	for i, a := range nodes {
		h, err := a.Head()
		if err != nil {
			f.t.Fatalf("eth_blockNumber on %s: %v", a.Name, err)
		}
		heads[i] = h
	}
	for i := range nodes {
		if heads[i] != heads[0] {
			f.t.Fatalf("fleet not identical: %s at block %d, %s at block %d", nodes[0].Name, heads[0], nodes[i].Name, heads[i])
		}
	}
	for num := uint64(0); num <= heads[0]; num++ {
		want, err := nodes[0].BlockHash(num)
		if err != nil {
			f.t.Fatalf("block %d on %s: %v", num, nodes[0].Name, err)
		}
		for _, a := range nodes[1:] {
			got, err := a.BlockHash(num)
			if err != nil {
				f.t.Fatalf("block %d on %s: %v", num, a.Name, err)
			}
			if got != want {
				f.t.Fatalf("fleet not identical: block %d is %s on %s but %s on %s", num, want, nodes[0].Name, got, a.Name)
			}
		}
	}
}

func hexUint(n uint64) string { return "0x" + strconv.FormatUint(n, 16) }

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a child's output from its copy goroutines.
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

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}
