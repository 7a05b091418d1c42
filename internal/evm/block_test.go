package evm

import (
	"testing"
)

func TestBlock(t *testing.T) {
	t.Parallel()
	latest := BlockRef{Kind: BlockLatest}
	num := func(n uint64) BlockRef { return BlockRef{Kind: BlockNumber, Number: n} }
	tests := []struct {
		method, params string
		want           BlockRef
	}{
		// state-free methods
		{"eth_chainId", ``, BlockRef{Kind: BlockAny}},
		{"net_version", `[]`, BlockRef{Kind: BlockAny}},
		{"web3_clientVersion", `[]`, BlockRef{Kind: BlockAny}},
		{"web3_sha3", `["0x68656c6c6f"]`, BlockRef{Kind: BlockAny}},
		// tags and numbers at each known position
		{"eth_getBalance", `["0x407d73d8a49eeb85d32cf465507dd71d507100c1","0x1b4"]`, num(0x1b4)},
		{"eth_getBalance", `["0x407d73d8a49eeb85d32cf465507dd71d507100c1","latest"]`, latest},
		{"eth_getBalance", `["0x407d73d8a49eeb85d32cf465507dd71d507100c1","pending"]`, latest},
		{"eth_getBalance", `["0x407d73d8a49eeb85d32cf465507dd71d507100c1","safe"]`, latest},
		{"eth_getBalance", `["0x407d73d8a49eeb85d32cf465507dd71d507100c1","finalized"]`, latest},
		{"eth_getBalance", `["0x407d73d8a49eeb85d32cf465507dd71d507100c1","earliest"]`, BlockRef{Kind: BlockEarliest}},
		{"eth_getBalance", `["0x407d73d8a49eeb85d32cf465507dd71d507100c1"]`, latest},
		{"eth_getCode", `["0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b", "0x2"]`, num(2)},
		{"eth_getTransactionCount", `["0xa9", "0xA"]`, num(10)},
		{"eth_getStorageAt", `["0x295a70b2de5e3953354a6a8344e616ed314d7251","0x0","0x4b7"]`, num(0x4b7)},
		{"eth_getStorageAt", `["0x295a70b2de5e3953354a6a8344e616ed314d7251","0x0"]`, latest},
		{"eth_call", `[{"to":"0x00","data":"0x"},"0x10"]`, num(16)},
		{"eth_call", `[{"to":"0x00","data":"0x"}]`, latest},
		{"eth_call", `[{"to":"0x00"},"0x10",{"0x00":{"balance":"0x1"}}]`, num(16)},
		{"eth_estimateGas", `[{"to":"0x00"},"0x20"]`, num(32)},
		{"eth_createAccessList", `[{"to":"0x00"},"0x21"]`, num(33)},
		{"eth_getProof", `["0x00",["0x01"],"0x22"]`, num(34)},
		{"eth_feeHistory", `["0x4","0x23",[25,75]]`, num(35)},
		{"eth_feeHistory", `[4,"latest",[]]`, latest},
		{"eth_getBlockByNumber", `["0x10",false]`, num(16)},
		{"eth_getBlockByNumber", `[ "0x0" , true ]`, num(0)},
		{"eth_getBlockTransactionCountByNumber", `["0x24"]`, num(36)},
		{"eth_getUncleCountByBlockNumber", `["0x25"]`, num(37)},
		{"eth_getTransactionByBlockNumberAndIndex", `["0x26","0x0"]`, num(38)},
		{"eth_getUncleByBlockNumberAndIndex", `["0x27","0x0"]`, num(39)},
		{"eth_getBlockReceipts", `["0x28"]`, num(40)},
		{"eth_getBlockReceipts", `["0x88e96d4537bea4d9c05d12549907b32561d3bf31f45aae734cdc119f13406cb6"]`, latest},
		{"debug_traceBlockByNumber", `["0x29",{"tracer":"callTracer"}]`, num(41)},
		{"debug_traceCall", `[{"to":"0x00"},"0x2a",{}]`, num(42)},
		{"trace_block", `["0x2b"]`, num(43)},
		{"trace_call", `[{"to":"0x00"},["trace"],"0x2c"]`, num(44)},
		{"trace_replayBlockTransactions", `["0x2d",["trace"]]`, num(45)},
		// EIP-1898
		{"eth_getBalance", `["0x00",{"blockNumber":"0x2e"}]`, num(46)},
		{"eth_getBalance", `["0x00",{"blockNumber":"finalized"}]`, latest},
		{"eth_call", `[{"to":"0x00"},{"blockHash":"0xd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3","requireCanonical":true}]`, latest},
		{"eth_call", `[{"to":"0x00"},{"requireCanonical":false,"blockNumber":"0x2f"}]`, num(47)},
		{"eth_call", `[{"to":"0x00"},{}]`, latest},
		// hash lookups and unknown methods
		{"eth_getBlockByHash", `["0xd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3",false]`, latest},
		{"eth_getTransactionReceipt", `["0x01"]`, latest},
		{"eth_blockNumber", `[]`, latest},
		{"foo_bar", `["0x10"]`, latest},
		// logs
		{"eth_getLogs", `[{"fromBlock":"0x10","toBlock":"0x20"}]`, num(0x20)},
		{"eth_getLogs", `[{"toBlock":"0x10","fromBlock":"0x20"}]`, num(0x20)},
		{"eth_getLogs", `[{"fromBlock":"earliest","toBlock":"0x20"}]`, num(0x20)},
		{"eth_getLogs", `[{"fromBlock":"earliest","toBlock":"earliest"}]`, BlockRef{Kind: BlockEarliest}},
		{"eth_getLogs", `[{"fromBlock":"0x10","toBlock":"latest"}]`, latest},
		{"eth_getLogs", `[{"fromBlock":"0x10"}]`, latest},
		{"eth_getLogs", `[{"toBlock":"0x10"}]`, latest},
		{"eth_getLogs", `[{}]`, latest},
		{"eth_getLogs", `[{"blockHash":"0x01","fromBlock":"0x1","toBlock":"0x2"}]`, latest},
		{"eth_getLogs", `[{"address":["0x00"],"topics":[null,["0x01"]],"fromBlock":"0x1","toBlock":"0x2"}]`, num(2)},
		{"eth_newFilter", `[{"fromBlock":"0x1","toBlock":"0x3"}]`, num(3)},
		{"trace_filter", `[{"fromBlock":"0x4","toBlock":"0x3"}]`, num(4)},
		// malformed params are latest
		{"eth_getBlockByNumber", ``, latest},
		{"eth_getBlockByNumber", `[]`, latest},
		{"eth_getBlockByNumber", `{"block":"0x1"}`, latest},
		{"eth_getBlockByNumber", `["0x",false]`, latest},
		{"eth_getBlockByNumber", `["0x01",false]`, latest},
		{"eth_getBlockByNumber", `["1b4",false]`, latest},
		{"eth_getBlockByNumber", `[16,false]`, latest},
		{"eth_getBlockByNumber", `["0x10000000000000000",false]`, latest},
		{"eth_getBlockByNumber", `["Latest",false]`, latest},
		{"eth_getBlockByNumber", `[null,false]`, latest},
		// Params come validated by jsonrpc.Decode, so only what is needed is read.
		{"eth_getBlockByNumber", `["0x10",`, num(16)},
		{"eth_getBalance", `["0x00",{"blockNumber":5}]`, latest},
		{"eth_getLogs", `["0x10"]`, latest},
		{"eth_getLogs", `[{"fromBlock":"0x10","toBlock":"bogus"}]`, latest},
		{"eth_getLogs", `[{"fromBlock":"0x1","toBlock":"0x2"`, latest},
	}
	for _, tt := range tests {
		if got := Block(tt.method, []byte(tt.params)); got != tt.want {
			t.Errorf("Block(%s, %s) = %+v, want %+v", tt.method, tt.params, got, tt.want)
		}
	}
}

func TestBlockDoesNotAllocate(t *testing.T) {
	calls := []struct{ method, params string }{
		{"eth_getBalance", `["0x407d73d8a49eeb85d32cf465507dd71d507100c1","0x1b4"]`},
		{"eth_call", `[{"to":"0x00"},{"blockHash":"0xd4e5","requireCanonical":true}]`},
		{"eth_getLogs", `[{"fromBlock":"0x10","toBlock":"0x20","topics":[]}]`},
		{"eth_getBlockByNumber", `["latest",false]`},
	}
	for _, c := range calls {
		p := []byte(c.params)
		if n := testing.AllocsPerRun(100, func() { Block(c.method, p) }); n != 0 {
			t.Errorf("Block(%s) allocates %v times", c.method, n)
		}
	}
}

func FuzzBlock(f *testing.F) {
	f.Add("eth_getBalance", []byte(`["0x00","0x1b4"]`))
	f.Add("eth_call", []byte(`[{},{"blockNumber":"0x1"}]`))
	f.Add("eth_getLogs", []byte(`[{"fromBlock":"0x1","toBlock":"earliest"}]`))
	f.Add("eth_getBlockByNumber", []byte(`["pending",false]`))
	f.Add("trace_call", []byte(`[{},[],{"blockHash":"0x1"}]`))
	f.Fuzz(func(t *testing.T, method string, params []byte) {
		ref := Block(method, params)
		if ref.Kind > BlockAny || ref.Kind != BlockNumber && ref.Number != 0 {
			t.Fatalf("Block(%s, %q) = %+v", method, params, ref)
		}
	})
}

func TestKnownMethod(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"eth_call": true, "eth_getLogs": true, "net_version": true, "web3_clientVersion": true,
		"debug_traceTransaction": true, "trace_block": true, "txpool_status": true,
		"eth_Call": false, "": false, "admin_peers": false, "eth_call ": false,
	} {
		if got := KnownMethod(name); got != want {
			t.Errorf("KnownMethod(%q) = %v", name, got)
		}
	}
	// Every method with a block rule is known, or metrics would fold it away.
	for name := range blockParams {
		if !KnownMethod(name) {
			t.Errorf("%s has a block rule but is not a known method", name)
		}
	}
}
