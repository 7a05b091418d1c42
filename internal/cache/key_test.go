package cache

import (
	"strings"
	"sync"
	"testing"
)

const hashA = `"0xAAaa000000000000000000000000000000000000000000000000000000000001"`

func TestDerive(t *testing.T) {
	t.Parallel()
	cases := []struct {
		method, params string
		ok             bool
		scope          Scope
		number         uint64
		hash           string
	}{
		{"eth_getBlockByNumber", `["0x10",false]`, true, ScopeNumber, 16, ""},
		{"eth_getBlockByNumber", `["earliest",true]`, true, ScopeNumber, 0, ""},
		// Tags are never stored under the tag (eRPC's stale "finalized").
		{"eth_getBlockByNumber", `["finalized",false]`, true, ScopeNone, 0, ""},
		{"eth_getBlockByNumber", `["latest",false]`, true, ScopeNone, 0, ""},
		{"eth_getBlockByNumber", `["safe",false]`, true, ScopeNone, 0, ""},
		{"eth_getBlockByNumber", `["pending",false]`, true, ScopeNone, 0, ""},
		{"eth_getBalance", `["0x01"]`, true, ScopeNone, 0, ""}, // omitted block: latest
		{"eth_getBlockByHash", `[` + hashA + `,false]`, true, ScopeHash, 0, strings.ToLower(hashA)},
		{"eth_getBlockByHash", `["0x12",false]`, true, ScopeNone, 0, ""},
		{"eth_getTransactionReceipt", `[` + hashA + `]`, true, ScopeResult, 0, ""},
		{"eth_getBalance", `["0x01",{"blockHash":` + hashA + `}]`, true, ScopeHash, 0, strings.ToLower(hashA)},
		{"eth_getBalance", `["0x01",{"blockHash":` + hashA + `,"requireCanonical":true}]`, true, ScopeNone, 0, ""},
		{"eth_getBalance", `["0x01",{"blockNumber":"0x5"}]`, true, ScopeNumber, 5, ""},
		{"eth_getBlockReceipts", `[` + hashA + `]`, true, ScopeHash, 0, strings.ToLower(hashA)},
		{"eth_getLogs", `[{"fromBlock":"0x1","toBlock":"0x20"}]`, true, ScopeNumber, 32, ""},
		{"eth_getLogs", `[{"fromBlock":"0x1","toBlock":"latest"}]`, true, ScopeNone, 0, ""},
		{"eth_getLogs", `[{"blockHash":` + hashA + `}]`, true, ScopeHash, 0, strings.ToLower(hashA)},
		{"eth_chainId", `[]`, true, ScopeStatic, 0, ""},
		{"eth_blockNumber", ``, true, ScopeNone, 0, ""},
		{"eth_sendRawTransaction", `["0x00"]`, false, 0, 0, ""},
		{"eth_newFilter", `[{}]`, false, 0, 0, ""},
		{"eth_getBlockByNumber", `{"a":1}`, false, 0, 0, ""},
		{"eth_getBlockByNumber", `["0x10",`, false, 0, 0, ""},
	}
	for _, c := range cases {
		l, ok := Derive("eth", c.method, []byte(c.params))
		if ok != c.ok || l.Scope != c.scope || l.Number != c.number || l.Hash != c.hash {
			t.Errorf("Derive(%s %s) = %+v, %v; want ok %v scope %d number %d hash %s", c.method, c.params, l, ok, c.ok, c.scope, c.number, c.hash)
		}
	}
}

func TestDeriveKeyIgnoresSpacingButNotChainOrMethod(t *testing.T) {
	t.Parallel()
	a, _ := Derive("eth", "eth_getBlockByNumber", []byte(`["0x10",false]`))
	b, _ := Derive("eth", "eth_getBlockByNumber", []byte(" [ \"0x10\" , false ]\n"))
	c, _ := Derive("base", "eth_getBlockByNumber", []byte(`["0x10",false]`))
	d, _ := Derive("eth", "eth_getHeaderByNumber", []byte(`["0x10",false]`))
	e, _ := Derive("eth", "eth_getBlockByNumber", []byte(`["0x10",true]`))
	if a.Key != b.Key {
		t.Errorf("spacing changed the key: %q vs %q", a.Key, b.Key)
	}
	for _, o := range []Lookup{c, d, e} {
		if o.Key == a.Key {
			t.Errorf("distinct calls share key %q", a.Key)
		}
	}
}

func TestTemplateSplicesID(t *testing.T) {
	t.Parallel()
	node := []byte("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"}\n")
	tm, r, ok := NewTemplate(node)
	if !ok || string(r.Result) != `"0x1"` {
		t.Fatalf("NewTemplate: %v %s", ok, r.Result)
	}
	for _, id := range []string{`1`, `"x"`, `null`, `18446744073709551616`} {
		want := strings.Replace(string(node), `"id":1`, `"id":`+id, 1)
		if got := string(tm.Append(nil, []byte(id))); got != want {
			t.Errorf("id %s: %q, want %q", id, got, want)
		}
		back, ok := decodeTemplate(tm.encode())
		if !ok || string(back.Append(nil, []byte(id))) != want {
			t.Errorf("Redis form of id %s does not round-trip", id)
		}
	}
	if _, ok := decodeTemplate([]byte{0, 0, 0, 9, 'x'}); ok {
		t.Error("a Redis value with its id past the end decoded")
	}
}

func TestMajorityNeverCountsAMinority(t *testing.T) {
	t.Parallel()
	cases := []struct {
		vs   []uint64
		need int
		want uint64
	}{
		{[]uint64{10, 20, 30}, 2, 20},   // 2 of 3 reach 20
		{[]uint64{100, 5, 5}, 2, 5},     // one node far ahead does not move it
		{[]uint64{7}, 1, 7},             //
		{[]uint64{9, 9, 9, 1, 1}, 3, 9}, //
	}
	for _, c := range cases {
		if got := majority(append([]uint64(nil), c.vs...), c.need); got != c.want {
			t.Errorf("majority(%v, %d) = %d, want %d", c.vs, c.need, got, c.want)
		}
	}
}

func TestFinalityObserveReportsReplacedHashes(t *testing.T) {
	t.Parallel()
	var got []string
	f := &Finality{onReorg: func(r []string) { got = append(got, r...) }}
	f.observeHead(5, "h5", "h4")
	f.observeHead(6, "h6", "h5")
	if len(got) != 0 {
		t.Fatalf("a chain that extends reported a reorg: %v", got)
	}
	f.observeAt(5, "x5") // a node now has another block 5
	if len(got) != 2 || got[0] != "h5" || got[1] != "h6" {
		t.Fatalf("replaced = %v, want [h5 h6]", got)
	}
	got = nil
	f.observeHead(7, "y7", "y6") // a parent that differs from the known block 6 (now gone)
	f.observeHead(8, "z8", "z7") // differs from y7 at 7
	if len(got) != 1 || got[0] != "y7" {
		t.Fatalf("replaced = %v, want [y7]", got)
	}
}

func TestFlightsShareOneCall(t *testing.T) {
	t.Parallel()
	var f Flights[int]
	calls := 0
	started, release := make(chan struct{}), make(chan struct{})
	var waiting sync.WaitGroup
	f.waiting = func(d float64) {
		if d > 0 {
			waiting.Done()
		}
	}
	var wg sync.WaitGroup
	leaders := 0
	var mu sync.Mutex
	run := func() {
		defer wg.Done()
		v, leader := f.Do("k", func() int { calls++; close(started); <-release; return 42 })
		mu.Lock()
		defer mu.Unlock()
		if leader {
			leaders++
		}
		if v != 42 {
			t.Errorf("got %d", v)
		}
	}
	wg.Add(1)
	go run()
	<-started
	waiting.Add(9)
	for range 9 {
		wg.Add(1)
		go run()
	}
	waiting.Wait()
	close(release)
	wg.Wait()
	if calls != 1 || leaders != 1 {
		t.Fatalf("calls %d, leaders %d; want 1 and 1", calls, leaders)
	}
}
