package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/natstest"
	"github.com/rpcgate/rpcgate/internal/summary"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Relay summaries (issue 11) through the real binary and real anvil
// nodes, to a JetStream server (and a Kafka-protocol peer) the test
// runs itself, so it can stop and restart it.

const summaryStream = "RPCGATE_RELAYS"

func summariesYAML(sink, bufDir string, queue, batch int) string {
	return fmt.Sprintf(`summaries:
  sample: 1.0
  queue: %d
  batch: %d
  buffer: {dir: %q, max_bytes: 1073741824}
  sinks:
    - %s
`, queue, batch, bufDir, sink)
}

func natsSink(url string) string {
	return fmt.Sprintf(`{type: nats, url: %q, stream: %s, subject: "rpcgate.relays", ack_timeout: 1s}`, url, summaryStream)
}

// relays sends eth_getBalance calls numbered from..to-1 from 8 clients,
// each with X-Request-ID <prefix><n>, and returns how many failed (no 200
// with a result).
func relays(t *testing.T, url, prefix string, from, to int) int64 {
	t.Helper()
	answered := sendRelays(url, prefix, from, to, nil)
	return int64(to-from) - int64(len(answered))
}

// sendRelays is relays returning the request ids answered with a result;
// it stops early when stop is closed.
func sendRelays(url, prefix string, from, to int, stop <-chan struct{}) map[string]bool {
	var next atomic.Int64
	next.Store(int64(from))
	var mu sync.Mutex
	answered := map[string]bool{}
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := next.Add(1) - 1
				if n >= int64(to) {
					return
				}
				id := fmt.Sprintf("%s%d", prefix, n)
				body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"eth_getBalance","params":[%q,"latest"]}`, n, otherAddress.Hex())
				req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Request-ID", id)
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK && bytes.Contains(data, []byte(`"result"`)) {
					mu.Lock()
					answered[id] = true
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return answered
}

// ours are the records of requests whose id starts with prefix, by
// record id, with the number of duplicate copies seen.
func ours(t *testing.T, raw [][]byte, prefix string) (byID map[string]summary.Record, byRequest map[string]bool, dups int) {
	t.Helper()
	byID, byRequest = map[string]summary.Record{}, map[string]bool{}
	for _, b := range raw {
		r, err := summary.Decode(b)
		if err != nil {
			t.Fatalf("not a record: %s (%v)", b, err)
		}
		if !strings.HasPrefix(r.RequestID, prefix) {
			continue
		}
		if _, seen := byID[r.ID]; seen {
			dups++
			continue
		}
		byID[r.ID] = r
		byRequest[r.RequestID] = true
	}
	return byID, byRequest, dups
}

// 1,000 relays give 1,000 records with distinct ids on JetStream, and
// their chain, method and nodes match the requests: every record is
// eth_getBalance on eth, and each node has as many attempts in the
// records as its proxy saw calls.
func TestSummariesNATSDelivery(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b")
	ps := StartProxies(t, f)
	srv := natstest.Start(t)
	// Hedging off: the test matches every recorded attempt to a call its
	// proxy saw, and a hedge may be recorded yet never sent (no free slot,
	// or its twin answered first).
	opts := GatewayOpts{Groups: map[string]GroupSpec{"default": {Nodes: []string{"a", "b"}, Extra: "        hedge: {off: true}\n"}}}
	cfg := WriteConfigFile(t, ps, opts, summariesYAML(natsSink(srv.URL()), t.TempDir(), 4096, 256))
	g := cfg.Start(t)
	if failed := relays(t, g.URL, "d-", 0, 1000); failed != 0 {
		t.Fatalf("%d of 1000 requests failed", failed)
	}
	var byID map[string]summary.Record
	var byReq map[string]bool
	eventually(t, 30*time.Second, "1000 records on JetStream", func() (bool, string) {
		byID, byReq, _ = ours(t, srv.Records(t, summaryStream), "d-")
		return len(byID) >= 1000, fmt.Sprintf("%d records", len(byID))
	})
	if len(byID) != 1000 || len(byReq) != 1000 {
		t.Fatalf("%d distinct ids for %d distinct requests, want 1000 each", len(byID), len(byReq))
	}
	attempts := map[string]int{}
	for _, r := range byID {
		if r.V != 1 || r.Chain != "eth" || r.Method != "eth_getBalance" || r.Outcome != "ok" || len(r.Attempts) == 0 || r.Time.IsZero() {
			t.Fatalf("record does not match its request: %+v", r)
		}
		for _, a := range r.Attempts {
			attempts[a.Node]++
		}
	}
	for name, p := range ps {
		if got, want := attempts[name], p.Count("eth_getBalance"); got != want {
			t.Errorf("node %s: %d attempts in the records, its proxy saw %d calls", name, got, want)
		}
	}
	if acked, _ := g.Metric(t, "rpcgate_summaries_acked_total", map[string]string{"sink": "nats"}); acked < 1000 {
		t.Errorf("acked metric %v, want ≥ 1000", acked)
	}
	// The operator command reads the same stream: every relay (the 1,000
	// and the harness's readiness calls), one row per node whose relays
	// are its attempts.
	rep := summariesCommand(t, "--nats", srv.URL(), "--stream", summaryStream, "--json")
	checkReport(t, rep, ps, attempts)
}

// summariesCommand runs `rpcgate summaries args...` and decodes its JSON.
func summariesCommand(t *testing.T, args ...string) summary.Report {
	t.Helper()
	out, err := exec.Command(gatewayBin, append([]string{"summaries"}, args...)...).Output()
	if err != nil {
		t.Fatalf("rpcgate summaries %v: %v\n%s", args, err, out)
	}
	var rep summary.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("rpcgate summaries printed %s: %v", out, err)
	}
	return rep
}

// checkReport: the report counts at least the test's relays, and each
// node has at least the attempts the test's records show for it.
func checkReport(t *testing.T, rep summary.Report, ps map[string]*Proxy, attempts map[string]int) {
	t.Helper()
	if rep.Relays < 1000 || len(rep.Nodes) != len(ps) {
		t.Fatalf("report: %d relays, %d nodes: %+v", rep.Relays, len(rep.Nodes), rep)
	}
	for _, n := range rep.Nodes {
		if n.Chain != "eth" || n.Relays < attempts[n.Name] || n.Errors != 0 || n.P99MS < n.P50MS {
			t.Errorf("node row %+v (test's attempts on it: %d)", n, attempts[n.Name])
		}
	}
	found := false
	for _, m := range rep.Methods {
		if m.Name == "eth_getBalance" {
			found = m.Count >= 1000 && m.Errors == 0
		}
	}
	if !found {
		t.Errorf("no eth_getBalance row with 1000 calls: %+v", rep.Methods)
	}
}

// The broker stops in the middle of 2,000 relays and comes back 10 s
// later: no client request fails, and every record arrives (duplicates
// allowed, counted).
func TestSummariesNATSOutage(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b")
	ps := StartProxies(t, f)
	srv := natstest.Start(t)
	cfg := WriteConfigFile(t, ps, GatewayOpts{}, summariesYAML(natsSink(srv.URL()), t.TempDir(), 4096, 256))
	g := cfg.Start(t)
	failed := relays(t, g.URL, "o-", 0, 1000)
	srv.Stop()
	stopped := time.Now()
	failed += relays(t, g.URL, "o-", 1000, 2000)
	if failed != 0 {
		t.Fatalf("%d of 2000 requests failed across the broker outage", failed)
	}
	eventually(t, 15*time.Second, "records buffered on disk during the outage", func() (bool, string) {
		v, _ := g.Metric(t, "rpcgate_summaries_broker_errors_total", map[string]string{"sink": "nats"})
		return v > 0, fmt.Sprintf("broker errors %v", v)
	})
	time.Sleep(time.Until(stopped.Add(10 * time.Second)))
	srv.Restart()
	var byID map[string]summary.Record
	var byReq map[string]bool
	var dups int
	eventually(t, 60*time.Second, "2000 records after the broker came back", func() (bool, string) {
		byID, byReq, dups = ours(t, srv.Records(t, summaryStream), "o-")
		return len(byID) >= 2000, fmt.Sprintf("%d records", len(byID))
	})
	if len(byID) != 2000 || len(byReq) != 2000 {
		t.Fatalf("%d distinct ids for %d requests, want 2000", len(byID), len(byReq))
	}
	t.Logf("duplicates delivered: %d", dups)
}

// SIGKILL while the broker is down, records are on disk and requests are
// still coming: after a restart with the broker up, the buffered records
// arrive. Of the requests answered before the kill, at most queue + batch
// (what can be in memory, here 64 + 16) have no record.
func TestSummariesCrashSafety(t *testing.T) {
	t.Parallel()
	const queue, batch = 64, 16
	f := StartFleet(t, "a", "b")
	ps := StartProxies(t, f)
	srv := natstest.New(t) // down
	cfg := WriteConfigFile(t, ps, GatewayOpts{}, summariesYAML(natsSink(srv.URL()), t.TempDir(), queue, batch))
	g := cfg.Start(t)
	stop := make(chan struct{})
	done := make(chan map[string]bool)
	go func() { done <- sendRelays(g.URL, "k-", 0, 1_000_000, stop) }()
	eventually(t, 30*time.Second, "records on disk", func() (bool, string) {
		v, _ := g.Metric(t, "rpcgate_summaries_buffered_records", map[string]string{"sink": "nats"})
		return v >= 500, fmt.Sprintf("buffered %v", v)
	})
	if err := g.cmd.Process.Kill(); err != nil { // under load
		t.Fatal(err)
	}
	<-g.done
	close(stop)
	answered := <-done
	srv.Restart()
	g2 := cfg.Start(t)
	eventually(t, 30*time.Second, "the disk buffer drained after the restart", func() (bool, string) {
		v, _ := g2.Metric(t, "rpcgate_summaries_buffered_records", map[string]string{"sink": "nats"})
		return v == 0, fmt.Sprintf("buffered %v", v)
	})
	byID, byReq, _ := ours(t, srv.Records(t, summaryStream), "k-")
	lost := 0
	for id := range answered {
		if !byReq[id] {
			lost++
		}
	}
	t.Logf("answered before the kill %d, records delivered %d, answered without a record %d (bound %d)", len(answered), len(byReq), lost, queue+batch)
	if len(byID) != len(byReq) {
		t.Errorf("%d ids for %d requests", len(byID), len(byReq))
	}
	if len(answered) < 500 {
		t.Fatalf("only %d requests answered before the kill", len(answered))
	}
	if lost > queue+batch {
		t.Errorf("lost %d records, more than the in-memory bound queue + batch = %d", lost, queue+batch)
	}
}

// kafkaBroker is a one-node kfake cluster with its data on disk, so it
// can be stopped and started again on the same port with its topics.
type kafkaBroker struct {
	t    *testing.T
	port int
	dir  string
	c    *kfake.Cluster
}

func startKafka(t *testing.T) *kafkaBroker {
	k := &kafkaBroker{t: t, port: freePort(), dir: t.TempDir()}
	k.start()
	t.Cleanup(k.stop)
	return k
}

func (k *kafkaBroker) start() {
	var err error
	for i := 0; i < 50; i++ {
		k.c, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(k.port), kfake.DataDir(k.dir),
			kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
		if err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	k.t.Fatalf("kfake: %v", err)
}

func (k *kafkaBroker) stop() {
	if k.c != nil {
		k.c.Close()
		k.c = nil
	}
}

func (k *kafkaBroker) addr() string { return fmt.Sprintf("127.0.0.1:%d", k.port) }

// records reads the whole topic.
func (k *kafkaBroker) records(t *testing.T, topic string) [][]byte {
	t.Helper()
	var out [][]byte
	err := summary.KafkaSource([]string{k.addr()}, topic, time.Time{}, 2*time.Second)(context.Background(), false, func(b []byte) {
		out = append(out, append([]byte(nil), b...))
	})
	if err != nil {
		t.Logf("read topic: %v", err)
	}
	return out
}

// The Kafka sink against kfake: 1,000 relays, the broker restarted in the
// middle of the next 1,000; all 2,000 records arrive keyed by chain.
func TestSummariesKafkaDeliveryAndRestart(t *testing.T) {
	t.Parallel()
	f := StartFleet(t, "a", "b")
	ps := StartProxies(t, f)
	k := startKafka(t)
	sink := fmt.Sprintf(`{type: kafka, brokers: [%q], topic: relays, ack_timeout: 2s}`, k.addr())
	cfg := WriteConfigFile(t, ps, GatewayOpts{}, summariesYAML(sink, t.TempDir(), 4096, 256))
	g := cfg.Start(t)
	if failed := relays(t, g.URL, "q-", 0, 1000); failed != 0 {
		t.Fatalf("%d requests failed", failed)
	}
	var byID map[string]summary.Record
	eventually(t, 30*time.Second, "1000 records on Kafka", func() (bool, string) {
		byID, _, _ = ours(t, k.records(t, "relays"), "q-")
		return len(byID) >= 1000, fmt.Sprintf("%d records", len(byID))
	})
	if len(byID) != 1000 {
		t.Fatalf("%d distinct ids, want 1000", len(byID))
	}
	for _, r := range byID {
		if r.Chain != "eth" || r.Method != "eth_getBalance" || len(r.Attempts) == 0 {
			t.Fatalf("record %+v", r)
		}
	}
	failed := relays(t, g.URL, "q-", 1000, 1500)
	k.stop()
	failed += relays(t, g.URL, "q-", 1500, 2000)
	if failed != 0 {
		t.Fatalf("%d requests failed across the broker restart", failed)
	}
	time.Sleep(3 * time.Second)
	k.start()
	var dups int
	eventually(t, 60*time.Second, "2000 records after the broker restart", func() (bool, string) {
		byID, _, dups = ours(t, k.records(t, "relays"), "q-")
		return len(byID) >= 2000, fmt.Sprintf("%d records", len(byID))
	})
	if len(byID) != 2000 {
		t.Fatalf("%d distinct ids, want 2000", len(byID))
	}
	t.Logf("duplicates delivered: %d", dups)
	attempts := map[string]int{}
	for _, r := range byID {
		for _, a := range r.Attempts {
			attempts[a.Node]++
		}
	}
	rep := summariesCommand(t, "--kafka", k.addr(), "--topic", "relays", "--json")
	checkReport(t, rep, ps, attempts)
	if rep.Relays < 2000 {
		t.Errorf("report counts %d relays, want at least 2000", rep.Relays)
	}
	// Records are keyed by chain.
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.addr()), kgo.ConsumeTopics("relays"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fs := cl.PollFetches(ctx)
	n := 0
	fs.EachRecord(func(r *kgo.Record) {
		n++
		if string(r.Key) != "eth" {
			t.Errorf("record key %q, want the chain", r.Key)
		}
	})
	if n == 0 {
		t.Error("no record fetched to check its key")
	}
}
