package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// The JavaScript clients (viem, ethers 6) are installed by
// scripts/install-jsclients.sh; the tests run them as node scripts from
// testdata/js. A missing install fails the test, like a missing anvil.

const jsInstaller = "scripts/install-jsclients.sh"

func jsModules(t testing.TB) string {
	t.Helper()
	tools := os.Getenv("RPCGATE_TOOLS_DIR")
	if tools == "" {
		tools = filepath.Join(repoRoot(), ".cache", "tools")
	}
	mods := filepath.Join(tools, "js", "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "viem", "package.json")); err != nil {
		t.Fatalf("viem not found in %s: run %s (or make test)", mods, jsInstaller)
	}
	return mods
}

// pingAddress holds a contract that emits Ping(uint256) with its calldata
// (a real event signature, so viem's watchContractEvent decodes it).
var (
	pingAddress = common.HexToAddress("0x00000000000000000000000000000000c0ffee03")
	pingTopic   = crypto.Keccak256Hash([]byte("Ping(uint256)"))
)

func pingCode() []byte {
	code := []byte{0x36, 0x60, 0x00, 0x60, 0x00, 0x37, 0x7f}
	code = append(code, pingTopic.Bytes()...)
	return append(code, 0x36, 0x60, 0x00, 0xa1, 0x00)
}

// sendPing sends Ping(n) to every live node.
func sendPing(t testing.TB, f *Fleet, nonce uint64, n int) {
	to := pingAddress
	data := common.LeftPadBytes(big.NewInt(int64(n)).Bytes(), 32)
	tx := types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(chainID), Nonce: nonce, GasTipCap: big.NewInt(1_000_000_000),
		GasFeeCap: big.NewInt(100_000_000_000), Gas: 200_000, To: &to, Value: big.NewInt(0), Data: data})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(big.NewInt(chainID)), devKey(t))
	if err != nil {
		t.Errorf("sign: %v", err)
		return
	}
	raw, _ := signed.MarshalBinary()
	for _, a := range f.Nodes {
		if a.Alive() {
			_, _ = a.Call(context.Background(), "eth_sendRawTransaction", "0x"+common.Bytes2Hex(raw))
		}
	}
}

type jsLine struct {
	Block   *uint64 `json:"block"`
	Event   *uint64 `json:"event"`
	Removed bool    `json:"removed"`
	Error   string  `json:"error"`
}

// runJS runs a script and returns its lines; the script must exit 0.
func runJS(t testing.TB, script string, args ...string) []jsLine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join(repoRoot(), "test", "e2e", "testdata", "js", script)}, args...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+jsModules(t))
	// ES modules ignore NODE_PATH: run from a folder whose node_modules
	// is the install, through a symlink in a temp dir.
	dir := t.TempDir()
	if err := os.Symlink(jsModules(t), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile(cmd.Args[1])
	local := filepath.Join(dir, script)
	if err := os.WriteFile(local, src, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Args[1] = local
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var lines []jsLine
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var l jsLine
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			lines = append(lines, l)
		}
	}
	if err != nil {
		t.Fatalf("node %s: %v\nstdout:\n%s\nstderr:\n%s", script, err, out, stderr.String())
	}
	return lines
}

// viem (watchBlocks, watchContractEvent over webSocket) and ethers 6
// (WebSocketProvider on("block")) work through rpcgate: consecutive
// blocks, and every event in order.
func TestJSClientsOverWebSocket(t *testing.T) {
	jsModules(t)
	f := StartFleet(t, "a", "b")
	f.Do("anvil_setCode", []any{pingAddress.Hex(), hexBytes(pingCode())})
	g := startWSGateway(t, f.Nodes, map[string]bool{"a": true}, "")
	clock := startClock(t, f, 500*time.Millisecond)
	nonce := uint64(0)
	clock.setHook(func(n int) {
		sendPing(t, f, nonce, n)
		nonce++
	})
	type result struct {
		name  string
		lines []jsLine
	}
	res := make(chan result, 2)
	go func() { res <- result{"viem", runJS(t, "viem_ws.mjs", g.WSURL(), pingAddress.Hex(), "5", "5")} }()
	go func() { res <- result{"ethers", runJS(t, "ethers_ws.mjs", g.WSURL(), "5")} }()
	for i := 0; i < 2; i++ {
		r := <-res
		var blocks, events []uint64
		for _, l := range r.lines {
			switch {
			case l.Block != nil:
				blocks = append(blocks, *l.Block)
			case l.Event != nil:
				if l.Removed {
					t.Fatalf("%s: removed event without a reorg", r.name)
				}
				events = append(events, *l.Event)
			}
		}
		if len(blocks) < 5 {
			t.Fatalf("%s: blocks %v, want 5", r.name, blocks)
		}
		requireConsecutive(t, r.name+" blocks", blocks)
		if r.name == "viem" {
			if len(events) < 5 {
				t.Fatalf("viem: events %v, want 5", events)
			}
			requireConsecutive(t, "viem events", events)
		}
	}
}

// viem's watchContractEvent over HTTP polls a gateway-held filter; with
// three nodes, one of them killed midway, it receives every event exactly
// once, in order.
func TestJSViemFilterSurvivesNodeLoss(t *testing.T) {
	jsModules(t)
	f := StartFleet(t, "a", "b", "c")
	f.Do("anvil_setCode", []any{pingAddress.Hex(), hexBytes(pingCode())})
	g := startWSGateway(t, f.Nodes, nil, "")
	clock := startClock(t, f, 400*time.Millisecond)
	nonce := uint64(0)
	started := make(chan struct{})
	clock.setHook(func(n int) {
		select {
		case <-started:
		default:
			return // the filter is not installed yet
		}
		if n == 8 {
			f.Kill("b")
		}
		sendPing(t, f, nonce, int(nonce))
		nonce++
	})
	go func() {
		// The first event is sent once viem's filter exists on the gateway
		// (which also shows viem polls a filter rather than eth_getLogs).
		for g.metricNoFail(`rpcgate_filters{type="logs"}`) < 1 {
			time.Sleep(100 * time.Millisecond)
		}
		close(started)
	}()
	lines := runJS(t, "viem_http_filter.mjs", g.URL, pingAddress.Hex(), "15")
	var events []uint64
	for _, l := range lines {
		if l.Event != nil {
			events = append(events, *l.Event)
		}
	}
	if len(events) < 15 || events[0] != 0 {
		t.Fatalf("events %v, want 0..14", events)
	}
	requireConsecutive(t, "viem filter events", events)
	if f.Node("b").Alive() {
		t.Fatal("node b was never killed: the test did not cover a node loss")
	}
}
