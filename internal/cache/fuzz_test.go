package cache

import (
	"bytes"
	"testing"
)

// FuzzDerive feeds untrusted params to the cache key derivation and tag
// resolution: it must not panic, a tag must never give a cacheable scope,
// and the key must name the chain and method it was asked for.
func FuzzDerive(f *testing.F) {
	seeds := []string{`["0x10",false]`, `["latest",true]`, `["finalized"]`, `[{"blockHash":"0x00"}]`,
		`["0x1",{"blockHash":"0xaaaa000000000000000000000000000000000000000000000000000000000001"}]`,
		`[{"fromBlock":"0x1","toBlock":"0x2"}]`, `[`, `{}`, `[[[[`, `["0xffffffffffffffffff"]`, `[null]`}
	methods := []string{"eth_getBlockByNumber", "eth_getBalance", "eth_getLogs", "eth_getBlockReceipts", "eth_getTransactionReceipt", "eth_getBlockByHash", "eth_call"}
	for _, s := range seeds {
		for i := range methods {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, m uint8, params []byte) {
		method := methods[int(m)%len(methods)]
		l, ok := Derive("eth", method, params)
		if !ok {
			return
		}
		if !bytes.HasPrefix([]byte(l.Key), []byte("eth\x00"+method+"\x00")) {
			t.Fatalf("key %q does not name its chain and method", l.Key)
		}
		for _, tag := range []string{`"latest"`, `"pending"`, `"safe"`, `"finalized"`} {
			if l.Scope == ScopeNumber && bytes.Contains(params, []byte(tag)) && !bytes.Contains(params, []byte("0x")) {
				t.Fatalf("tag %s params %s gave a numbered scope %+v", tag, params, l)
			}
		}
		if l.Scope == ScopeHash && !isHash([]byte(l.Hash)) {
			t.Fatalf("hash scope without a hash: %+v", l)
		}
		if l2, _ := Derive("eth", method, params); l2 != l {
			t.Fatalf("not deterministic: %+v vs %+v", l, l2)
		}
	})
}
