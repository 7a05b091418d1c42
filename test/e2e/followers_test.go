package e2e

// Stateless followers (issue 14): a chain store in PostgreSQL that serves
// settled reads with no node. Each test gets its own schema in the shared
// database, created and dropped by the test.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/jackc/pgx/v5"
)

const pgURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// pgSchema creates a fresh schema for the test and drops it at cleanup.
func pgSchema(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable at 127.0.0.1:5432 (db test, trust auth): %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// pgCount runs a count query in schema.
func pgCount(t testing.TB, schema, q string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, _ := pgx.ParseConfig(pgURL)
	cfg.RuntimeParams["search_path"] = schema
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int64
	if err := c.QueryRow(ctx, q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// storeExtra is the chain's store block.
func storeExtra(url, schema, role string) string {
	return fmt.Sprintf("    finality_depth: 8\n    store: {postgres: %q, role: %s, schema: %s}\n", url, role, schema)
}

// storeCLI runs `rpcgate store <args>` on a config file.
func storeCLI(t testing.TB, cfg string, args ...string) (string, error) {
	t.Helper()
	if gatewayBuildErr != nil {
		t.Fatalf("rpcgate binary did not build:\n%v", gatewayBuildErr)
	}
	cmd := exec.Command(gatewayBin, append([]string{"store"}, append(args, "--config", cfg)...)...)
	cmd.Env = append(os.Environ(), listenEnv+"=127.0.0.1:1", adminEnv+"=127.0.0.1:2")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var (
	emitter4Address = common.HexToAddress("0x00000000000000000000000000000000c0ffee04")
	topicA          = common.HexToHash("0xaaaa000000000000000000000000000000000000000000000000000000000001")
	topicB          = common.HexToHash("0xbbbb000000000000000000000000000000000000000000000000000000000002")
)

// emitter4Code logs LOG4 with the four calldata words as topics and no
// data: PUSH1 off CALLDATALOAD ×4 (topic3 first), PUSH1 0, PUSH1 0, LOG4.
func emitter4Code() []byte {
	return []byte{0x60, 0x60, 0x35, 0x60, 0x40, 0x35, 0x60, 0x20, 0x35, 0x60, 0x00, 0x35, 0x60, 0x00, 0x60, 0x00, 0xa4, 0x00}
}

func word(n int) string { return common.BigToHash(common.Big1.Lsh(common.Big1, uint(n))).Hex() }

// followersChain mines blocks 1..n on one anvil, each with a transaction of
// a rotating type (legacy, 2930, 1559) and, in most, a LOG4 whose topics
// vary by block; every 10th block has a plain transfer instead.
func followersChain(t *testing.T, n int) *Fleet {
	f := StartFleet(t, "a")
	installContracts(f)
	f.Do("anvil_setCode", []any{emitter4Address.Hex(), hexBytes(emitter4Code())})
	a := f.Node("a")
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		tx := map[string]any{"from": devAddress.Hex(), "gas": "0x30000"}
		if i%10 == 0 {
			tx["to"], tx["value"] = otherAddress.Hex(), "0x7"
		} else {
			t0 := topicA.Hex()
			if i%2 == 1 {
				t0 = topicB.Hex()
			}
			data := t0 + word(i % 5)[2:] + word(i % 7)[2:] + word(i % 3)[2:]
			tx["to"], tx["data"] = emitter4Address.Hex(), data
		}
		switch i % 3 {
		case 0:
			tx["gasPrice"] = "0x174876e800"
		case 1:
			tx["gasPrice"], tx["accessList"] = "0x174876e800", []any{map[string]any{"address": emitter4Address.Hex(), "storageKeys": []string{word(1)}}}
		case 2:
			tx["maxFeePerGas"], tx["maxPriorityFeePerGas"] = "0x174876e800", "0x3b9aca00"
		}
		if _, err := a.Call(ctx, "eth_sendTransaction", tx); err != nil {
			t.Fatalf("block %d: eth_sendTransaction: %v", i, err)
		}
		if i%25 == 0 { // a second emitter in some blocks: more than one log per block
			if _, err := a.Call(ctx, "eth_sendTransaction", map[string]any{"from": devAddress.Hex(), "to": emitterAddress.Hex(), "data": "0x01", "gas": "0x30000"}); err != nil {
				t.Fatal(err)
			}
		}
		f.Mine(1)
	}
	return f
}

type savedRead struct{ body, want []byte }

// saveReads asks the node a table of reads over blocks 0..top and keeps
// its answers.
func saveReads(t *testing.T, url string, top uint64) []savedRead {
	var reads []savedRead
	id := 0
	ask := func(method, params string) json.RawMessage {
		id++
		body := rawBody(fmt.Sprint(id), method, params)
		ans := direct(t, url, body)
		reads = append(reads, savedRead{body, ans})
		var r struct{ Result json.RawMessage }
		if err := json.Unmarshal(ans, &r); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		return r.Result
	}
	types := map[string]int{}
	for n := uint64(0); n <= top; n++ {
		blk := ask("eth_getBlockByNumber", "["+hexN(n)+",false]")
		ask("eth_getBlockByNumber", "["+hexN(n)+",true]")
		var b struct {
			Hash         string
			Transactions []string
		}
		if err := json.Unmarshal(blk, &b); err != nil {
			t.Fatal(err)
		}
		ask("eth_getBlockByHash", fmt.Sprintf("[%q,false]", b.Hash))
		ask("eth_getBlockByHash", fmt.Sprintf("[%q,true]", b.Hash))
		ask("eth_getBlockReceipts", "["+hexN(n)+"]")
		ask("eth_getBlockTransactionCountByNumber", "["+hexN(n)+"]")
		ask("eth_getBlockTransactionCountByHash", fmt.Sprintf("[%q]", b.Hash))
		for i, h := range b.Transactions {
			tx := ask("eth_getTransactionByHash", fmt.Sprintf("[%q]", h))
			var ty struct{ Type string }
			_ = json.Unmarshal(tx, &ty)
			types[ty.Type]++
			ask("eth_getTransactionReceipt", fmt.Sprintf("[%q]", h))
			ask("eth_getTransactionByBlockNumberAndIndex", "["+hexN(n)+","+hexN(uint64(i))+"]")
			ask("eth_getTransactionByBlockHashAndIndex", fmt.Sprintf("[%q,%s]", b.Hash, hexN(uint64(i))))
		}
	}
	if types["0x0"] == 0 || types["0x1"] == 0 || types["0x2"] == 0 {
		t.Fatalf("transaction types seen %v; want legacy, 2930 and 1559", types)
	}
	for _, f := range logFilters(top) {
		ask("eth_getLogs", f)
	}
	return reads
}

// logFilters covers the whole range, sub-ranges, addresses and every topic
// position with single values, OR lists and nulls.
func logFilters(top uint64) []string {
	e4, e1 := fmt.Sprintf("%q", emitter4Address.Hex()), fmt.Sprintf("%q", emitterAddress.Hex())
	rng := func(a, b uint64) string { return `"fromBlock":` + hexN(a) + `,"toBlock":` + hexN(b) }
	all := rng(0, top)
	return []string{
		`[{` + all + `}]`,
		`[{` + rng(100, 200) + `}]`,
		`[{` + all + `,"address":` + e4 + `}]`,
		`[{` + all + `,"address":[` + e4 + `,` + e1 + `]}]`,
		`[{` + all + `,"address":` + e1 + `}]`,
		`[{` + all + `,"topics":[` + fmt.Sprintf("%q", topicA.Hex()) + `]}]`,
		`[{` + all + `,"topics":[[` + fmt.Sprintf("%q,%q", topicA.Hex(), topicB.Hex()) + `]]}]`,
		`[{` + all + `,"topics":[null,` + fmt.Sprintf("%q", word(2)) + `]}]`,
		`[{` + all + `,"topics":[null,null,` + fmt.Sprintf("[%q,%q]", word(3), word(5)) + `]}]`,
		`[{` + all + `,"topics":[null,null,null,` + fmt.Sprintf("%q", word(1)) + `]}]`,
		`[{` + all + `,"topics":[` + fmt.Sprintf("%q,[%q,%q],null,%q", topicB.Hex(), word(0), word(4), word(2)) + `]}]`,
		`[{` + rng(40, 60) + `,"address":` + e4 + `,"topics":[null,` + fmt.Sprintf("%q", word(1)) + `]}]`,
	}
}

// TestFollowersStoreServesSavedReadsByteForByte: 500 blocks are backfilled
// into the store with `rpcgate store backfill`; every anvil is then
// stopped, and only then a fresh gateway (role reader, its config naming
// the dead node) is started; with only the store it answers every saved
// read — blocks, transactions, receipts, counts, eth_getLogs with every
// kind of filter — byte for byte as the node did.
func TestFollowersStoreServesSavedReadsByteForByte(t *testing.T) {
	const blocks = 500
	schema := pgSchema(t)
	f := followersChain(t, blocks)
	a := f.Node("a")
	top, _ := a.Head()
	p := StartProxy(t, "a", a.URL)

	cf := WriteConfigFile(t, map[string]*Proxy{"a": p}, GatewayOpts{ChainExtra: storeExtra(pgURL, schema, "writer")}, "")
	if out, err := storeCLI(t, cf.Path, "migrate"); err != nil {
		t.Fatalf("store migrate: %v\n%s", err, out)
	}
	if out, err := storeCLI(t, cf.Path, "backfill", "--chain", "eth", "--from", "0", "--to", fmt.Sprint(top)); err != nil {
		t.Fatalf("store backfill: %v\n%s", err, out)
	} else {
		t.Logf("%s", out[strings.LastIndex(out, "\r")+1:])
	}
	out, err := storeCLI(t, cf.Path, "status")
	if err != nil || !strings.Contains(out, fmt.Sprintf("highest %d", top)) {
		t.Fatalf("store status: %v\n%s", err, out)
	}
	if n := pgCount(t, schema, `SELECT count(*) FROM blocks`); n != int64(top)+1 {
		t.Fatalf("store holds %d blocks, want %d", n, top+1)
	}
	if n := pgCount(t, schema, `SELECT count(*) FROM logs`); n < blocks*8/10 {
		t.Fatalf("store holds %d logs, want logs in most of %d blocks", n, blocks)
	}

	reads := saveReads(t, a.URL, top)
	// Every anvil is stopped (and the proxy in front of it closed) before
	// the replica exists: a fresh reader whose config names only the dead
	// node. It cannot answer eth_chainId from a node, so the harness waits
	// for /healthz on its public listener instead.
	f.Kill("a")
	p.Close()
	if _, err := a.Call(context.Background(), "eth_chainId"); err == nil {
		t.Fatalf("anvil a still answers after Kill")
	}
	cf.Rewrite(t, map[string]*Proxy{"a": p}, GatewayOpts{ChainExtra: storeExtra(pgURL, schema, "reader")}, "")
	cf.ReadyPath = "/healthz"
	g := cf.Start(t)
	bad := 0
	for _, r := range reads {
		got, _ := gw(t, g, r.body)
		if !bytes.Equal(got, r.want) {
			bad++
			if bad <= 5 {
				t.Errorf("%s:\n got %.300s\nwant %.300s", r.body, got, r.want)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d reads differ from the node's answers", bad, len(reads))
	}
	// A batch of saved reads is answered element by element from the store.
	batch, want := []byte{'['}, []byte{'['}
	for i, r := range reads[:40] {
		if i > 0 {
			batch, want = append(batch, ','), append(want, ',')
		}
		batch, want = append(batch, r.body...), append(want, r.want...)
	}
	batch, want = append(batch, ']'), append(want, ']')
	if got, _ := gw(t, g, batch); !bytes.Equal(got, want) {
		t.Fatalf("batch from the store:\n got %.400s\nwant %.400s", got, want)
	}
	for _, m := range []string{"eth_getLogs", "eth_getBlockByNumber", "eth_getTransactionReceipt"} {
		v, _ := g.Metric(t, "rpcgate_store_served_total", map[string]string{"chain": "eth", "method": m})
		if v == 0 {
			t.Errorf("rpcgate_store_served_total{method=%s} = 0", m)
		}
	}
	t.Logf("%d reads answered from the store byte for byte", len(reads))
}
