package e2e

// Stateless followers (issue 14): writers, backfill, a store that goes
// away, and store-only groups.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// continuity fails unless the store's blocks are lo..hi with each block's
// parent the stored block below it.
func continuity(t testing.TB, schema string) (lo, hi int64) {
	t.Helper()
	n := pgCount(t, schema, `SELECT count(*) FROM blocks`)
	hi = pgCount(t, schema, `SELECT coalesce(max(number), -1) FROM blocks`)
	lo = pgCount(t, schema, `SELECT coalesce(min(number), 0) FROM blocks`)
	if n != hi-lo+1 {
		t.Fatalf("store holds %d blocks for range %d..%d: a block is missing", n, lo, hi)
	}
	if bad := pgCount(t, schema, `SELECT count(*) FROM blocks b JOIN blocks p ON p.number = b.number - 1 WHERE b.parent <> p.hash`); bad != 0 {
		t.Fatalf("%d stored blocks do not follow their parent", bad)
	}
	return lo, hi
}

func metricOf(t testing.TB, g *Gateway, name string, labels map[string]string) float64 {
	v, _ := g.Metric(t, name, labels)
	return v
}

// TestFollowersTwoWritersOneWrites: two gateways with role writer start at
// once on the same store; exactly one holds the advisory lock and writes
// (each process's rpcgate_store_blocks_written_total: one counts every
// stored block, the other 0).
// Killed, its lock dies with its session and the other takes over; the
// store stays continuous (no block missing or doubled).
func TestFollowersTwoWritersOneWrites(t *testing.T) {
	schema := pgSchema(t)
	f := StartFinalityFleet(t, 1, "a")
	f.Mine(20)
	p := StartProxy(t, "a", f.Node("a").URL)
	cf := WriteConfigFile(t, map[string]*Proxy{"a": p}, GatewayOpts{ChainExtra: storeExtra(pgURL, schema, "writer")}, "")
	gs := []*Gateway{cf.Start(t), cf.Start(t)}
	leader := map[string]string{"chain": "eth"}
	var lead, other *Gateway
	eventually(t, 20*time.Second, "one writer leads", func() (bool, string) {
		a, b := metricOf(t, gs[0], "rpcgate_store_writer_leader", leader), metricOf(t, gs[1], "rpcgate_store_writer_leader", leader)
		switch {
		case a == 1 && b == 0:
			lead, other = gs[0], gs[1]
		case b == 1 && a == 0:
			lead, other = gs[1], gs[0]
		}
		return lead != nil, fmt.Sprintf("leader gauges %v, %v", a, b)
	})
	head, _ := f.Node("a").Head()
	eventually(t, 20*time.Second, "store reaches finalized", func() (bool, string) {
		top := pgCount(t, schema, `SELECT coalesce(max(number), -1) FROM blocks`)
		return top == int64(head-2), fmt.Sprintf("top %d, finalized %d", top, head-2)
	})
	if v := metricOf(t, other, "rpcgate_store_writer_leader", leader); v != 0 {
		t.Fatalf("both writers lead")
	}
	// Exactly one writes: each process counts the blocks it wrote itself.
	// Over the whole window so far the leader wrote every stored block and
	// the other wrote none (the counter is cumulative, so a single write by
	// the other at any point would show here).
	wrote := func(g *Gateway) float64 {
		v, ok := g.Metric(t, "rpcgate_store_blocks_written_total", leader)
		if !ok {
			t.Fatalf("rpcgate_store_blocks_written_total{chain=eth} absent")
		}
		return v
	}
	// (The leader counts a block just after its commit, so its count may
	// trail the table by a moment; the other's must be 0 throughout.)
	stored := pgCount(t, schema, `SELECT count(*) FROM blocks`)
	eventually(t, 10*time.Second, "the leader counts every stored block, the other none", func() (bool, string) {
		leadWrote, otherWrote := wrote(lead), wrote(other)
		if otherWrote != 0 {
			t.Fatalf("blocks written: leader %v, other %v: both writers wrote", leadWrote, otherWrote)
		}
		return int64(leadWrote) == stored, fmt.Sprintf("leader wrote %v, other %v, store holds %d", leadWrote, otherWrote, stored)
	})
	_ = lead.cmd.Process.Kill()
	<-lead.done
	f.Mine(15)
	head, _ = f.Node("a").Head()
	eventually(t, 30*time.Second, "the other writer takes over", func() (bool, string) {
		v := metricOf(t, other, "rpcgate_store_writer_leader", leader)
		top := pgCount(t, schema, `SELECT coalesce(max(number), -1) FROM blocks`)
		return v == 1 && top == int64(head-2), fmt.Sprintf("leader %v, top %d, finalized %d", v, top, head-2)
	})
	lo, hi := continuity(t, schema)
	if lo != 0 || hi != int64(head-2) {
		t.Fatalf("store holds %d..%d, want 0..%d", lo, hi, head-2)
	}
	// The survivor wrote exactly the blocks added after the leader died.
	eventually(t, 10*time.Second, "the survivor counts the blocks added after the leader died", func() (bool, string) {
		got, want := wrote(other), float64(hi+1-stored)
		return got == want && got > 0, fmt.Sprintf("survivor wrote %v, want %v", got, want)
	})
}

var (
	interruptedRE = regexp.MustCompile(`interrupted after (\d+) block`)
	backfilledRE  = regexp.MustCompile(`backfilled (\d+) block`)
)

// TestFollowersBackfillResumesAfterSIGINT: a backfill interrupted with
// SIGINT part way exits 130; run again, it stores only the rest, and the
// store holds each block exactly once.
func TestFollowersBackfillResumesAfterSIGINT(t *testing.T) {
	const total = 1200
	schema := pgSchema(t)
	f := StartFleet(t, "a")
	f.Mine(total - 1) // blocks 0..total-1
	p := StartProxy(t, "a", f.Node("a").URL)
	cf := WriteConfigFile(t, map[string]*Proxy{"a": p}, GatewayOpts{ChainExtra: storeExtra(pgURL, schema, "writer")}, "")
	if out, err := storeCLI(t, cf.Path, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	args := []string{"store", "backfill", "--config", cf.Path, "--chain", "eth", "--from", "0", "--to", strconv.Itoa(total - 1), "--workers", "2"}
	cmd := exec.Command(gatewayBin, args...)
	cmd.Env = append(os.Environ(), listenEnv+"=127.0.0.1:1", adminEnv+"=127.0.0.1:2")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "backfill passes 200 blocks", func() (bool, string) {
		n := pgCount(t, schema, `SELECT count(*) FROM blocks`)
		return n >= 200, fmt.Sprintf("%d blocks", n)
	})
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("interrupted backfill: exit %v, want 130\n%s", err, out.String())
	}
	m := interruptedRE.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no interruption report:\n%s", out.String())
	}
	first, _ := strconv.Atoi(m[1])
	stored := pgCount(t, schema, `SELECT count(*) FROM blocks`)
	if int64(first) != stored || stored >= total {
		t.Fatalf("first run reports %d blocks, store holds %d of %d", first, stored, total)
	}
	out2, err := storeCLI(t, cf.Path, "backfill", "--chain", "eth", "--from", "0", "--to", strconv.Itoa(total-1))
	if err != nil {
		t.Fatalf("resumed backfill: %v\n%s", err, out2)
	}
	m = backfilledRE.FindStringSubmatch(out2)
	if m == nil {
		t.Fatalf("no backfill report:\n%s", out2)
	}
	second, _ := strconv.Atoi(m[1])
	if first+second != total {
		t.Fatalf("runs stored %d + %d blocks, want %d in all (each once)", first, second, total)
	}
	if lo, hi := continuity(t, schema); lo != 0 || hi != total-1 {
		t.Fatalf("store holds %d..%d", lo, hi)
	}
}

// ownPostgres is a PostgreSQL server this test starts and stops (never the
// machine's shared one), running as the postgres user.
type ownPostgres struct {
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

const pgBin = "/usr/lib/postgresql/15/bin"

func startOwnPostgres(t *testing.T) *ownPostgres {
	t.Helper()
	dir, err := os.MkdirTemp("", "rpcgate-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := exec.Command("chown", "postgres", dir).Run(); err != nil {
		t.Fatalf("chown %s: %v", dir, err)
	}
	data := filepath.Join(dir, "data")
	if out, err := exec.Command("runuser", "-u", "postgres", "--", pgBin+"/initdb", "-D", data, "-A", "trust", "-U", "postgres").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	pg := &ownPostgres{dir: dir, port: freePort()}
	pg.start(t)
	t.Cleanup(pg.stop)
	return pg
}

func (pg *ownPostgres) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
}

func (pg *ownPostgres) start(t *testing.T) {
	t.Helper()
	pg.cmd = exec.Command("runuser", "-u", "postgres", "--", pgBin+"/postgres", "-D", filepath.Join(pg.dir, "data"),
		"-p", strconv.Itoa(pg.port), "-k", pg.dir, "-c", "listen_addresses=127.0.0.1")
	pg.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := pg.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pg.done = make(chan struct{})
	go func() { _ = pg.cmd.Wait(); close(pg.done) }()
	eventually(t, 20*time.Second, "own postgres accepts connections", func() (bool, string) {
		err := exec.Command(pgBin+"/pg_isready", "-h", "127.0.0.1", "-p", strconv.Itoa(pg.port)).Run()
		return err == nil, fmt.Sprint(err)
	})
}

// stop shuts the server down fast (SIGINT to postgres through runuser).
func (pg *ownPostgres) stop() {
	if pg.cmd == nil {
		return
	}
	_ = exec.Command("runuser", "-u", "postgres", "--", pgBin+"/pg_ctl", "-D", filepath.Join(pg.dir, "data"), "-m", "immediate", "stop").Run()
	select {
	case <-pg.done:
	case <-time.After(20 * time.Second):
		_ = pg.cmd.Process.Kill()
		<-pg.done
	}
	pg.cmd = nil
}

// TestFollowersStoreDownFallsThrough: with the store's PostgreSQL stopped,
// reads the store served go to the node with no failure, byte for byte,
// and the fall-through counter rises; once PostgreSQL is back, the store
// answers again.
func TestFollowersStoreDownFallsThrough(t *testing.T) {
	pg := startOwnPostgres(t)
	f := StartFleet(t, "a")
	installContracts(f)
	cl := dial(t, f.Node("a").URL)
	emitLogs(t, f, cl, []byte("one"), []byte("two"), []byte("three"))
	head, _ := f.Node("a").Head()
	p := StartProxy(t, "a", f.Node("a").URL)
	extra := fmt.Sprintf("    finality_depth: 8\n    store: {postgres: %q, role: reader, timeout: 300ms}\n", pg.url())
	cf := WriteConfigFile(t, map[string]*Proxy{"a": p}, GatewayOpts{ChainExtra: extra}, "")
	if out, err := storeCLI(t, cf.Path, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if out, err := storeCLI(t, cf.Path, "backfill", "--from", "0", "--to", strconv.FormatUint(head, 10)); err != nil {
		t.Fatalf("backfill: %v\n%s", err, out)
	}
	g := cf.Start(t)
	reads := [][]byte{
		rawBody("1", "eth_getBlockByNumber", "["+hexN(head)+",true]"),
		rawBody("2", "eth_getLogs", `[{"fromBlock":"0x0","toBlock":`+hexN(head)+`}]`),
		rawBody("3", "eth_getBlockReceipts", "["+hexN(head-1)+"]"),
	}
	want := make([][]byte, len(reads))
	for i, r := range reads {
		want[i] = direct(t, f.Node("a").URL, r)
	}
	check := func(phase string) {
		for i, r := range reads {
			got, _ := gw(t, g, r)
			if string(got) != string(want[i]) {
				t.Fatalf("%s: %s:\n got %.300s\nwant %.300s", phase, r, got, want[i])
			}
		}
	}
	served := func() float64 {
		return metricOf(t, g, "rpcgate_store_served_total", map[string]string{"chain": "eth", "method": "eth_getLogs"})
	}
	fell := func() float64 {
		return metricOf(t, g, "rpcgate_store_fallthrough_total", map[string]string{"chain": "eth", "method": "eth_getLogs", "reason": "unavailable"}) +
			metricOf(t, g, "rpcgate_store_fallthrough_total", map[string]string{"chain": "eth", "method": "eth_getLogs", "reason": "slow"})
	}
	check("store up")
	s0, f0 := served(), fell()
	if s0 == 0 {
		t.Fatalf("store up: eth_getLogs was not served from the store")
	}
	nodeCalls := p.Count("eth_getLogs")
	pg.stop()
	check("store down")
	if fell() <= f0 {
		t.Fatalf("store down: fall-through counter did not rise (%v)", fell())
	}
	if p.Count("eth_getLogs") <= nodeCalls {
		t.Fatalf("store down: eth_getLogs did not reach the node")
	}
	if served() != s0 {
		t.Fatalf("store down: served counter moved")
	}
	if v := metricOf(t, g, "rpcgate_requests_total", map[string]string{"chain": "eth", "outcome": "failed"}); v != 0 {
		t.Fatalf("store down: %v calls failed", v)
	}
	pg.start(t)
	eventually(t, 20*time.Second, "store answers again", func() (bool, string) {
		check("store back")
		return served() > s0, fmt.Sprintf("served %v", served())
	})
}

// TestFollowersStoreOnlyGroup: a getLogs group with no node at all,
// backed by the store, answers eth_getLogs as the node would.
func TestFollowersStoreOnlyGroup(t *testing.T) {
	schema := pgSchema(t)
	f := StartFleet(t, "a")
	installContracts(f)
	cl := dial(t, f.Node("a").URL)
	emitLogs(t, f, cl, []byte("x"), []byte("y"))
	head, _ := f.Node("a").Head()
	p := StartProxy(t, "a", f.Node("a").URL)
	opts := GatewayOpts{
		Groups: map[string]GroupSpec{
			"default": {Nodes: []string{"a"}},
			"logs":    {Methods: []string{"eth_getLogs"}, Extra: "        store: true\n"},
		},
		ChainExtra: storeExtra(pgURL, schema, "reader"),
	}
	cf := WriteConfigFile(t, map[string]*Proxy{"a": p}, opts, "")
	if out, err := storeCLI(t, cf.Path, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if out, err := storeCLI(t, cf.Path, "backfill", "--from", "0", "--to", strconv.FormatUint(head, 10)); err != nil {
		t.Fatalf("backfill: %v\n%s", err, out)
	}
	body := rawBody(`"q"`, "eth_getLogs", `[{"fromBlock":"0x0","toBlock":`+hexN(head)+`,"address":"`+emitterAddress.Hex()+`"}]`)
	want := direct(t, f.Node("a").URL, body)
	g := cf.Start(t)
	before := p.Count("eth_getLogs")
	got, _ := gw(t, g, body)
	if string(got) != string(want) {
		t.Fatalf("store-only group:\n got %s\nwant %s", got, want)
	}
	if p.Count("eth_getLogs") != before {
		t.Fatalf("a node was asked for eth_getLogs")
	}
	if v := metricOf(t, g, "rpcgate_store_served_total", map[string]string{"chain": "eth", "method": "eth_getLogs"}); v != 1 {
		t.Fatalf("rpcgate_store_served_total{eth_getLogs} = %v, want 1", v)
	}
	// The status page shows the store as a member of the fleet, at the
	// highest stored block, without its URL.
	eventually(t, 20*time.Second, "status.json lists the store", func() (bool, string) {
		resp, err := http.Get(g.Base + "/status.json")
		if err != nil {
			return false, err.Error()
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		var doc struct {
			Chains []struct {
				Nodes []struct {
					Name, State string
					Head        uint64
				}
			}
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return false, err.Error()
		}
		if strings.Contains(string(body), "postgres") {
			t.Fatalf("status.json shows the store URL: %s", body)
		}
		for _, c := range doc.Chains {
			for _, n := range c.Nodes {
				if n.Name == "store" && n.State == "ok" && n.Head == head {
					return true, ""
				}
			}
		}
		return false, fmt.Sprintf("%.400s", body)
	})
}

// TestFollowersLogsPastStoreTop: an eth_getLogs range that runs past the
// store's highest block is answered from the store up to it and by the
// node for the rest (one node call), merged in order, as the node would.
func TestFollowersLogsPastStoreTop(t *testing.T) {
	schema := pgSchema(t)
	f := StartFleet(t, "a")
	installContracts(f)
	cl := dial(t, f.Node("a").URL)
	emitLogs(t, f, cl, []byte("1"), []byte("2"), []byte("3"), []byte("4"))
	head, _ := f.Node("a").Head()
	p := StartProxy(t, "a", f.Node("a").URL)
	cf := WriteConfigFile(t, map[string]*Proxy{"a": p}, GatewayOpts{ChainExtra: storeExtra(pgURL, schema, "reader")}, "")
	if out, err := storeCLI(t, cf.Path, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if out, err := storeCLI(t, cf.Path, "backfill", "--from", "0", "--to", strconv.FormatUint(head-2, 10)); err != nil {
		t.Fatalf("backfill: %v\n%s", err, out)
	}
	body := rawBody("5", "eth_getLogs", `[{"fromBlock":"0x0","toBlock":`+hexN(head)+`,"address":"`+emitterAddress.Hex()+`"}]`)
	want := direct(t, f.Node("a").URL, body)
	var n struct{ Result []json.RawMessage }
	if err := json.Unmarshal(want, &n); err != nil || len(n.Result) != 4 {
		t.Fatalf("node answer %s", want)
	}
	g := cf.Start(t)
	before := p.Count("eth_getLogs")
	got, _ := gw(t, g, body)
	if string(got) != string(want) {
		t.Fatalf("merged answer:\n got %s\nwant %s", got, want)
	}
	if c := p.Count("eth_getLogs") - before; c != 1 {
		t.Fatalf("node got %d eth_getLogs calls, want 1 (the part above the store)", c)
	}
	if v := metricOf(t, g, "rpcgate_store_served_total", map[string]string{"chain": "eth", "method": "eth_getLogs"}); v != 1 {
		t.Fatalf("rpcgate_store_served_total{eth_getLogs} = %v, want 1", v)
	}
}
