package e2e

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"
)

// BenchmarkFollowersGetLogs (issue 14 speed note): eth_getLogs with an
// address+topic filter over a FOLLOWERS_BENCH_BLOCKS-block range (default
// 10000), served by the store and by the node (anvil) in the same run,
// p50/p99 of each, and the backfill's ingest rate. Run:
//
//	go test -run XXX -bench BenchmarkFollowersGetLogs -benchtime 1x ./test/e2e/
func BenchmarkFollowersGetLogs(b *testing.B) {
	blocks := 10000
	if v, err := strconv.Atoi(os.Getenv("FOLLOWERS_BENCH_BLOCKS")); err == nil && v > 0 {
		blocks = v
	}
	schema := pgSchema(b)
	f := StartFleet(b, "a")
	installContracts(f)
	a := f.Node("a")
	ctx := context.Background()
	for i := 1; i <= blocks; i++ {
		if i%4 == 0 {
			if _, err := a.Call(ctx, "eth_sendTransaction", map[string]any{"from": devAddress.Hex(), "to": emitterAddress.Hex(), "data": "0x01", "gas": "0x30000"}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := a.Call(ctx, "anvil_mine", "0x1", hexUint(blockInterval)); err != nil {
			b.Fatal(err)
		}
	}
	top, _ := a.Head()
	p := StartProxy(b, "a", a.URL)
	cf := WriteConfigFile(b, map[string]*Proxy{"a": p}, GatewayOpts{ChainExtra: storeExtra(pgURL, schema, "reader")}, "")
	if out, err := storeCLI(b, cf.Path, "migrate"); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	start := time.Now()
	if out, err := storeCLI(b, cf.Path, "backfill", "--from", "0", "--to", strconv.FormatUint(top, 10), "--workers", "8"); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	rate := float64(top+1) / time.Since(start).Seconds()
	g := cf.Start(b)
	body := rawBody("1", "eth_getLogs", fmt.Sprintf(`[{"fromBlock":"0x0","toBlock":%s,"address":%q,"topics":[%q]}]`, hexN(top), emitterAddress.Hex(), eventTopic.Hex()))
	const n = 30
	lat := func(url string) (p50, p99 time.Duration) {
		ds := make([]time.Duration, n)
		for i := range ds {
			t0 := time.Now()
			if r := send(url, nil, body); r.Err != nil || r.Status != 200 {
				b.Fatalf("%s: %v", url, r)
			}
			ds[i] = time.Since(t0)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[n/2], ds[n*99/100]
	}
	b.ResetTimer()
	for range b.N {
		s50, s99 := lat(g.URL)
		n50, n99 := lat(a.URL)
		b.ReportMetric(float64(s50.Microseconds()), "store-p50-µs")
		b.ReportMetric(float64(s99.Microseconds()), "store-p99-µs")
		b.ReportMetric(float64(n50.Microseconds()), "node-p50-µs")
		b.ReportMetric(float64(n99.Microseconds()), "node-p99-µs")
		b.ReportMetric(rate, "ingest-blocks/s")
	}
}
