package evm

import (
	"testing"

	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

func BenchmarkBlock(b *testing.B) {
	for _, c := range []struct{ name, method, params string }{
		{"getBalance", "eth_getBalance", `["0x407d73d8a49eeb85d32cf465507dd71d507100c1","0x1b4"]`},
		{"getLogs", "eth_getLogs", `[{"address":"0xb59f67a8bff5d8cd03f6ac17265c550ed8f33907","topics":["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"],"fromBlock":"0x1000","toBlock":"0x1010"}]`},
	} {
		p := []byte(c.params)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Block(c.method, p)
			}
		})
	}
}

func BenchmarkClassify(b *testing.B) {
	e := &jsonrpc.Error{Code: 3, Message: "execution reverted: ERC20: transfer amount exceeds balance"}
	b.ReportAllocs()
	for b.Loop() {
		Classify(e)
	}
}
