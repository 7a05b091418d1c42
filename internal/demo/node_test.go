package demo

import (
	"crypto/sha256"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"
)

// blockFields are the members of a go-ethereum block object.
var blockFields = []string{
	"baseFeePerGas", "difficulty", "extraData", "gasLimit", "gasUsed", "hash", "logsBloom", "miner",
	"mixHash", "nonce", "number", "parentHash", "receiptsRoot", "sha3Uncles", "size", "stateRoot",
	"timestamp", "transactions", "transactionsRoot", "uncles", "withdrawals", "withdrawalsRoot",
}

func TestNodeMethods(t *testing.T) {
	t.Parallel()
	f := startFleet(t, Options{})
	c := client(t)
	url := nodeURL(t, f, "steady")
	const addr = "0x00000000219ab540356cbb839cbe05303d7705fa"

	t.Run("identity", func(t *testing.T) {
		t.Parallel()
		for method, want := range map[string]string{
			"eth_chainId":        "0x539",
			"net_version":        "1337",
			"web3_clientVersion": "rpcgate-demo/steady",
		} {
			var got string
			result(t, c, url, &got, method)
			if got != want {
				t.Errorf("%s = %q, want %q", method, got, want)
			}
		}
	})

	t.Run("eth_blockNumber", func(t *testing.T) {
		t.Parallel()
		first := blockNumber(t, c, url)
		if first < historyBlocks {
			t.Fatalf("head %d below the history of %d blocks", first, historyBlocks)
		}
		eventually(t, "a new block", func() bool { return blockNumber(t, c, url) > first })
	})

	t.Run("eth_getBlockByNumber", func(t *testing.T) {
		t.Parallel()
		var latest map[string]json.RawMessage
		result(t, c, url, &latest, "eth_getBlockByNumber", "latest", false)
		for _, k := range blockFields {
			if _, ok := latest[k]; !ok {
				t.Errorf("block has no %q", k)
			}
		}
		if len(latest) != len(blockFields) {
			t.Errorf("block has %d members, want %d", len(latest), len(blockFields))
		}

		var b, parent, full struct {
			Number       string            `json:"number"`
			Hash         string            `json:"hash"`
			ParentHash   string            `json:"parentHash"`
			Timestamp    string            `json:"timestamp"`
			Transactions []json.RawMessage `json:"transactions"`
		}
		result(t, c, url, &b, "eth_getBlockByNumber", "0x3e8", false)
		result(t, c, url, &parent, "eth_getBlockByNumber", "0x3e7", false)
		if quantity(t, b.Number) != 1000 {
			t.Fatalf("number %s, want 0x3e8", b.Number)
		}
		hexString(t, b.Hash, 32)
		if b.ParentHash != parent.Hash {
			t.Errorf("parentHash %s, want the hash of block 999 %s", b.ParentHash, parent.Hash)
		}
		if quantity(t, b.Timestamp) < quantity(t, parent.Timestamp) {
			t.Errorf("timestamp %s before its parent's %s", b.Timestamp, parent.Timestamp)
		}
		if len(b.Transactions) == 0 {
			t.Fatal("no transactions")
		}
		for _, tx := range b.Transactions {
			var h string
			if err := json.Unmarshal(tx, &h); err != nil {
				t.Fatalf("transaction %s is not a hash", tx)
			}
			hexString(t, h, 32)
		}

		result(t, c, url, &full, "eth_getBlockByNumber", "0x3e8", true)
		if full.Hash != b.Hash || len(full.Transactions) != len(b.Transactions) {
			t.Fatalf("full block %s/%d differs from %s/%d", full.Hash, len(full.Transactions), b.Hash, len(b.Transactions))
		}
		for i, raw := range full.Transactions {
			var tx struct {
				Hash             string `json:"hash"`
				BlockHash        string `json:"blockHash"`
				TransactionIndex string `json:"transactionIndex"`
				ChainID          string `json:"chainId"`
			}
			if err := json.Unmarshal(raw, &tx); err != nil {
				t.Fatalf("transaction %s: %v", raw, err)
			}
			var short string
			json.Unmarshal(b.Transactions[i], &short)
			if tx.Hash != short || tx.BlockHash != b.Hash || quantity(t, tx.TransactionIndex) != uint64(i) || tx.ChainID != "0x539" {
				t.Errorf("transaction %d: %s", i, raw)
			}
		}

		for _, tag := range []string{"earliest", "pending", "safe", "finalized"} {
			var blk struct {
				Number string `json:"number"`
			}
			result(t, c, url, &blk, "eth_getBlockByNumber", tag, false)
			quantity(t, blk.Number)
		}
		r := call(t, c, url, "eth_getBlockByNumber", "0x03e8", false)
		if r.Error == nil || r.Error.Code != codeInvalidParams {
			t.Errorf("leading zero: want -32602, got %s %v", r.Result, r.Error)
		}
	})

	t.Run("eth_getBlockByNumber above the head is null", func(t *testing.T) {
		t.Parallel()
		head := blockNumber(t, c, url)
		r := call(t, c, url, "eth_getBlockByNumber", hexUint(head+1000), false)
		if r.Error != nil || string(r.Result) != "null" {
			t.Fatalf("got result %s error %v, want null", r.Result, r.Error)
		}
	})

	t.Run("eth_getBlockByHash", func(t *testing.T) {
		t.Parallel()
		var b, byHash struct {
			Number string `json:"number"`
			Hash   string `json:"hash"`
		}
		result(t, c, url, &b, "eth_getBlockByNumber", "0x3e5", false)
		result(t, c, url, &byHash, "eth_getBlockByHash", b.Hash, false)
		if byHash != b {
			t.Fatalf("by hash %+v, by number %+v", byHash, b)
		}
		r := call(t, c, url, "eth_getBlockByHash", "0x"+strings.Repeat("ab", 32), false)
		if r.Error != nil || string(r.Result) != "null" {
			t.Fatalf("unknown hash: got %s %v, want null", r.Result, r.Error)
		}
	})

	t.Run("account state", func(t *testing.T) {
		t.Parallel()
		var bal, bal2, other, nonce, price string
		result(t, c, url, &bal, "eth_getBalance", addr, "latest")
		result(t, c, url, &bal2, "eth_getBalance", addr, "0x3e8")
		result(t, c, url, &other, "eth_getBalance", "0x"+strings.Repeat("11", 20), "latest")
		if bal != bal2 || bal == other {
			t.Errorf("balances: %s at latest, %s at 1000, %s for another address", bal, bal2, other)
		}
		result(t, c, url, &nonce, "eth_getTransactionCount", addr, "latest")
		result(t, c, url, &price, "eth_gasPrice")
		if v, ok := new(big.Int).SetString(strings.TrimPrefix(bal, "0x"), 16); !ok || v.Sign() <= 0 || !strings.HasPrefix(bal, "0x") || bal[2] == '0' {
			t.Errorf("balance %q is not a positive hex quantity", bal)
		}
		quantity(t, nonce)
		quantity(t, price)
		for _, method := range []string{"eth_getBalance", "eth_getTransactionCount"} {
			r := call(t, c, url, method, addr, "0xffffffff")
			if r.Error == nil || r.Error.Code != codeServer || r.Error.Message != "header not found" {
				t.Errorf("%s above the head: got %s %v, want -32000 header not found", method, r.Result, r.Error)
			}
			r = call(t, c, url, method, "0x1234", "latest")
			if r.Error == nil || r.Error.Code != codeInvalidParams {
				t.Errorf("%s with a short address: got %s %v, want -32602", method, r.Result, r.Error)
			}
		}
	})

	t.Run("eth_call and eth_estimateGas", func(t *testing.T) {
		t.Parallel()
		var out, gas, gas2 string
		result(t, c, url, &out, "eth_call", map[string]string{"to": addr, "data": "0x70a08231"}, "latest")
		if out != "0x" {
			t.Errorf("eth_call = %q, want 0x", out)
		}
		result(t, c, url, &gas, "eth_estimateGas", map[string]string{"to": addr})
		if gas != "0x5208" {
			t.Errorf("eth_estimateGas for a transfer = %s, want 0x5208", gas)
		}
		result(t, c, url, &gas2, "eth_estimateGas", map[string]string{"to": addr, "input": "0xa9059cbb"})
		if quantity(t, gas2) <= 21000 {
			t.Errorf("eth_estimateGas for a call = %s, want more than a transfer", gas2)
		}
	})

	t.Run("eth_getLogs", func(t *testing.T) {
		t.Parallel()
		var logs []struct {
			Address     string   `json:"address"`
			Topics      []string `json:"topics"`
			BlockNumber string   `json:"blockNumber"`
			BlockHash   string   `json:"blockHash"`
			LogIndex    string   `json:"logIndex"`
		}
		result(t, c, url, &logs, "eth_getLogs", map[string]any{"fromBlock": "0x3de", "toBlock": "0x3e8"})
		if len(logs) < 11 {
			t.Fatalf("%d logs for 11 blocks, want at least one per block", len(logs))
		}
		for _, l := range logs {
			if n := quantity(t, l.BlockNumber); n < 990 || n > 1000 {
				t.Errorf("log of block %d outside the range", n)
			}
			if len(l.Topics) != 3 || l.Topics[0] != transferTopic {
				t.Errorf("topics %v", l.Topics)
			}
			hexString(t, l.Address, 20)
		}

		var one []struct {
			Address string `json:"address"`
		}
		result(t, c, url, &one, "eth_getLogs", map[string]any{"fromBlock": "0x3de", "toBlock": "0x3e8", "address": logs[0].Address})
		if len(one) == 0 || len(one) > len(logs) {
			t.Errorf("address filter kept %d of %d logs", len(one), len(logs))
		}
		for _, l := range one {
			if l.Address != logs[0].Address {
				t.Errorf("address filter let %s through", l.Address)
			}
		}
		var byHash []json.RawMessage
		result(t, c, url, &byHash, "eth_getLogs", map[string]any{"blockHash": logs[0].BlockHash})
		if len(byHash) == 0 {
			t.Error("no logs by block hash")
		}

		head := blockNumber(t, c, url)
		r := call(t, c, url, "eth_getLogs", map[string]any{"fromBlock": hexUint(head - 2), "toBlock": hexUint(head + 100)})
		if r.Error == nil || r.Error.Code != codeServer || r.Error.Message != "header not found" {
			t.Errorf("range above the head: got %s %v, want -32000 header not found", r.Result, r.Error)
		}
	})

	t.Run("writes and receipts", func(t *testing.T) {
		t.Parallel()
		raw := "0x02f86c0580843b9aca00"
		var h string
		result(t, c, url, &h, "eth_sendRawTransaction", raw)
		b, _ := parseData(raw)
		if want := sha256.Sum256(b); h != hexHash(want) {
			t.Errorf("hash %s, want %s", h, hexHash(want))
		}
		r := call(t, c, url, "eth_getTransactionReceipt", h)
		if r.Error != nil || string(r.Result) != "null" {
			t.Errorf("receipt: got %s %v, want null", r.Result, r.Error)
		}
	})

	t.Run("unknown method", func(t *testing.T) {
		t.Parallel()
		r := call(t, c, url, "eth_mine")
		if r.Error == nil || r.Error.Code != codeNoMethod || r.Error.Message != "the method eth_mine does not exist/is not available" {
			t.Fatalf("got %s %+v", r.Result, r.Error)
		}
	})
}

func TestNodeEnvelope(t *testing.T) {
	t.Parallel()
	f := startFleet(t, Options{})
	c := client(t)
	url := nodeURL(t, f, "steady")

	t.Run("batch in order, ids verbatim, notifications unanswered", func(t *testing.T) {
		t.Parallel()
		body := `[
			{"jsonrpc":"2.0","id":"a","method":"eth_chainId"},
			{"jsonrpc":"2.0","id":2,"method":"eth_nope"},
			{"jsonrpc":"2.0","method":"eth_blockNumber"},
			{"jsonrpc":"2.0","id":null,"method":"net_version","params":[]},
			{"jsonrpc":"2.0","id":1.50,"method":"web3_clientVersion"},
			{"jsonrpc":"2.0","id":{"x":[1, 2]},"method":"eth_chainId"},
			42
		]`
		resp, raw := post(t, c, url, body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HTTP %d", resp.StatusCode)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			t.Fatalf("batch answer %s: %v", raw, err)
		}
		want := []struct {
			id     string
			result string
			code   int
		}{
			{`"a"`, `"0x539"`, 0},
			{`2`, ``, codeNoMethod},
			{`null`, `"1337"`, 0},
			{`1.50`, `"rpcgate-demo/steady"`, 0},
			{`{"x":[1, 2]}`, `"0x539"`, 0},
			{`null`, ``, codeInvalidRequest},
		}
		if len(items) != len(want) {
			t.Fatalf("%d answers, want %d: %s", len(items), len(want), raw)
		}
		for i, w := range want {
			r := decodeResponse(t, items[i])
			if string(r.ID) != w.id {
				t.Errorf("answer %d: id %s, want %s", i, r.ID, w.id)
			}
			if w.code != 0 {
				if r.Error == nil || r.Error.Code != w.code {
					t.Errorf("answer %d: %s, want error %d", i, items[i], w.code)
				}
			} else if string(r.Result) != w.result {
				t.Errorf("answer %d: result %s, want %s", i, r.Result, w.result)
			}
		}
	})

	t.Run("bad envelopes", func(t *testing.T) {
		t.Parallel()
		for body, code := range map[string]int{
			`{"jsonrpc":"2.0","id":1,"method":`: codeParse,
			`[]`:                                codeInvalidRequest,
			`{"jsonrpc":"1.0","id":1,"method":"eth_chainId"}`:                     codeInvalidRequest,
			`{"jsonrpc":"2.0","id":1}`:                                            codeInvalidRequest,
			`{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":{"a":1}}`: codeInvalidParams,
			`{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[]}`:      codeInvalidParams,
		} {
			_, raw := post(t, c, url, body)
			r := decodeResponse(t, raw)
			if r.Error == nil || r.Error.Code != code {
				t.Errorf("%s: got %s, want error %d", body, raw, code)
			}
		}
	})

	t.Run("notification only", func(t *testing.T) {
		t.Parallel()
		resp, raw := post(t, c, url, `{"jsonrpc":"2.0","method":"eth_chainId"}`)
		if resp.StatusCode != http.StatusOK || len(raw) != 0 {
			t.Fatalf("HTTP %d %q, want 200 and no body", resp.StatusCode, raw)
		}
	})

	t.Run("GET is refused", func(t *testing.T) {
		t.Parallel()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("HTTP %d, want 405", resp.StatusCode)
		}
	})
}

// TestChainDeterministic pins that blocks depend only on the chain id, so
// every node (and every run) agrees on them.
func TestChainDeterministic(t *testing.T) {
	t.Parallel()
	a := newChain(1337, 0, timeZero)
	b := newChain(1337, 0, timeZero)
	other := newChain(1, 0, timeZero)
	for _, n := range []uint64{0, 1, 500, historyBlocks} {
		ja, _ := json.Marshal(a.block(n, true))
		jb, _ := json.Marshal(b.block(n, true))
		jo, _ := json.Marshal(other.block(n, true))
		if string(ja) != string(jb) {
			t.Errorf("block %d differs between two chains with the same id", n)
		}
		if string(ja) == string(jo) {
			t.Errorf("block %d is the same on chains 1337 and 1", n)
		}
		if got, ok := a.lookup(a.blockHash(n)); !ok || got != n {
			t.Errorf("lookup of block %d's hash = %d, %v", n, got, ok)
		}
	}
}
