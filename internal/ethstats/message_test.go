package ethstats

import (
	"errors"
	"testing"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	hello := `{"emit":["hello",{"id":"d","info":{"name":"d","node":"Geth/v1.17.8-stable/linux-amd64/go1.26","port":30303,"net":"1337","protocol":"eth/68","api":"No","os":"linux","os_v":"amd64","client":"0.1.1","canUpdateHistory":true},"secret":"s3"}]}`
	m, err := Decode([]byte(hello))
	if err != nil || m.Cmd != Hello || m.ID != "d" || m.Secret != "s3" || m.Info.Node != "Geth/v1.17.8-stable/linux-amd64/go1.26" || m.Info.Net != "1337" {
		t.Fatalf("hello: %+v, %v", m, err)
	}
	cases := []struct {
		in    string
		check func(Message) bool
	}{
		{`{"emit":["block",{"id":"d","block":{"number":42,"hash":"0xAB","parentHash":"0x1","transactions":[],"uncles":[]}}]}`,
			func(m Message) bool { return m.Block.Number == 42 && m.Block.Hash == "0xab" }},
		{`{"emit":["pending",{"id":"d","stats":{"pending":7}}]}`, func(m Message) bool { return m.Pending == 7 }},
		{`{"emit":["stats",{"id":"d","stats":{"active":true,"syncing":false,"peers":3,"gasPrice":1,"uptime":100}}]}`,
			func(m Message) bool { return m.Stats.Peers == 3 && m.Stats.Active }},
		{`{"emit":["latency",{"id":"d","latency":"12"}]}`, func(m Message) bool { return m.LatencyMs == 12 }},
		{`{"emit":["node-ping",{"id":"d","clientTime":"2026-01-01 00:00:00"}]}`, func(m Message) bool { return m.ClientTime != "" }},
		{`{"emit":["history",{"id":"d","history":[{"number":1,"hash":"0x1"},{"number":"0x2","hash":"0x2"}]}]}`,
			func(m Message) bool { return len(m.History) == 2 && m.History[1].Number == 2 }},
		{`"primus::ping::1700000000000"`, func(m Message) bool { return m.Cmd == PrimusPing }},
		{`{"emit":["block_new_payload",{"id":"d","block":{"number":1}}]}`, func(m Message) bool { return m.Cmd == BlockNewPaylod }},
	}
	for _, c := range cases {
		m, err := Decode([]byte(c.in))
		if err != nil || !c.check(m) {
			t.Errorf("%s: %+v, %v", c.in, m, err)
		}
	}
	for _, in := range []string{`[]`, `{}`, `{"emit":[]}`, `{"emit":[1]}`, `{"emit":["hello"]}`, `{"emit":["hello",{"secret":"x"}]}`,
		`{"emit":["block",{"id":"d","block":{"number":-1}}]}`, `"hello"`, `{"emit":["a","b","c"]}`, `{"emit":["latency",{"latency":"x"}]}`} {
		if _, err := Decode([]byte(in)); !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: err %v, want ErrBadMessage", in, err)
		}
	}
}

// FuzzDecode: no input panics; an accepted message has a command.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"emit":["hello",{"id":"d","info":{"name":"d","node":"Geth/v1"},"secret":"s"}]}`))
	f.Add([]byte(`{"emit":["block",{"id":"d","block":{"number":42,"hash":"0xab"}}]}`))
	f.Add([]byte(`{"emit":["history",{"id":"d","history":[{"number":"0x1","hash":"0x1"}]}]}`))
	f.Add([]byte(`"primus::ping::1"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err == nil && m.Cmd == "" {
			t.Fatalf("accepted %q without a command", b)
		}
	})
}
