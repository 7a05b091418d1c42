package demo

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// historyBlocks is how many blocks the chain already has when it starts, so
// that a lagging node has somewhere to lag to and eth_getLogs has history.
const historyBlocks = 1000

// Well-known constants that real clients put in every post-merge block.
const (
	emptyUncleHash = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"
	emptyTrieRoot  = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"
	// transferTopic is keccak256("Transfer(address,address,uint256)").
	transferTopic = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
	gasLimit      = 30_000_000
	gwei          = 1_000_000_000
)

// zeroBloom is an empty 256-byte logs bloom. The demo does not compute
// blooms (no keccak in the standard library); clients do not check them.
var zeroBloom = "0x" + strings.Repeat("0", 512)

// chain is the simulated chain every node serves. Its blocks are a pure
// function of (chain id, number): every node, and every run with the same
// chain id, sees byte-identical blocks, except timestamps, which follow the
// wall clock so that the head looks live.
type chain struct {
	id        uint64
	blockTime time.Duration
	start     time.Time // when block historyBlocks was "mined"

	head atomic.Uint64

	mu       sync.RWMutex
	byHash   map[[32]byte]uint64 // reverse index for eth_getBlockByHash
	tokens   [3][20]byte         // contracts emitting Transfer logs
	accounts [16][20]byte        // senders and recipients of synthetic txs
}

func newChain(id uint64, blockTime time.Duration, now time.Time) *chain {
	c := &chain{
		id:        id,
		blockTime: blockTime,
		start:     now,
		byHash:    make(map[[32]byte]uint64, historyBlocks*2),
	}
	for i := range c.tokens {
		d := c.digest("token", uint64(i))
		copy(c.tokens[i][:], d[:20])
	}
	for i := range c.accounts {
		d := c.digest("account", uint64(i))
		copy(c.accounts[i][:], d[:20])
	}
	for n := uint64(0); n <= historyBlocks; n++ {
		c.byHash[c.blockHash(n)] = n
	}
	c.head.Store(historyBlocks)
	return c
}

// run mines one block every blockTime until ctx is done.
func (c *chain) run(ctx context.Context) {
	t := time.NewTicker(c.blockTime)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.mu.Lock()
			n := c.head.Load() + 1
			c.byHash[c.blockHash(n)] = n
			c.head.Store(n)
			c.mu.Unlock()
		}
	}
}

// Head is the newest block of the chain (nodes may be behind it).
func (c *chain) Head() uint64 { return c.head.Load() }

// lookup returns the number of the block with the given hash, if mined.
func (c *chain) lookup(h [32]byte) (uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n, ok := c.byHash[h]
	return n, ok
}

// digest derives 32 deterministic bytes from a label and a few numbers.
func (c *chain) digest(label string, nums ...uint64) [32]byte {
	h := sha256.New()
	h.Write([]byte("rpcgate-demo/"))
	h.Write([]byte(label))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], c.id)
	h.Write(b[:])
	for _, n := range nums {
		binary.BigEndian.PutUint64(b[:], n)
		h.Write(b[:])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func (c *chain) blockHash(n uint64) [32]byte { return c.digest("block", n) }

func (c *chain) timestamp(n uint64) uint64 {
	off := time.Duration(int64(n)-historyBlocks) * c.blockTime
	return uint64(c.start.Add(off).Unix())
}

func (c *chain) baseFee(n uint64) uint64 {
	d := c.blockHash(n)
	return 7*gwei + uint64(d[1])*gwei/64
}

// synthTx is one synthetic transaction: a plain transfer, or an ERC-20
// transfer that emits one Transfer log.
type synthTx struct {
	hash     [32]byte
	from, to [20]byte // to is the token contract for token transfers
	token    bool
	rcpt     [20]byte // token recipient
	value    *big.Int
	nonce    uint64
	gas      uint64
	tip      uint64
}

func (c *chain) txs(n uint64) []synthTx {
	if n == 0 {
		return nil
	}
	bh := c.blockHash(n)
	count := 1 + int(bh[0]%4)
	out := make([]synthTx, count)
	for i := range out {
		d := c.digest("tx", n, uint64(i))
		tx := synthTx{
			hash:  d,
			from:  c.accounts[d[1]%16],
			nonce: n*4 + uint64(i),
			tip:   uint64(1+d[2]%3) * gwei,
			value: new(big.Int).SetBytes(d[3:11]),
		}
		// The first transaction of every block is a token transfer so that
		// every block has at least one log.
		tx.token = i == 0 || d[11]%2 == 0
		if tx.token {
			tx.to = c.tokens[d[12]%3]
			tx.rcpt = c.accounts[d[13]%16]
			tx.gas = 45_000 + uint64(binary.BigEndian.Uint16(d[14:16]))%20_000
		} else {
			tx.to = c.accounts[d[13]%16]
			tx.gas = 21_000
		}
		out[i] = tx
	}
	return out
}

// balance is deterministic per address and constant over blocks, so every
// node agrees on it.
func (c *chain) balance(addr [20]byte) *big.Int {
	d := c.digest("balance", binary.BigEndian.Uint64(addr[:8]), binary.BigEndian.Uint64(addr[8:16]), uint64(binary.BigEndian.Uint32(addr[16:])))
	return new(big.Int).SetBytes(d[:10]) // up to ~1.2M ether
}

func (c *chain) nonce(addr [20]byte) uint64 {
	d := c.digest("nonce", binary.BigEndian.Uint64(addr[:8]), binary.BigEndian.Uint64(addr[8:16]), uint64(binary.BigEndian.Uint32(addr[16:])))
	return uint64(binary.BigEndian.Uint16(d[:2])) % 1000
}

// JSON shapes, field for field as go-ethereum returns them.

type blockJSON struct {
	BaseFeePerGas    string   `json:"baseFeePerGas"`
	Difficulty       string   `json:"difficulty"`
	ExtraData        string   `json:"extraData"`
	GasLimit         string   `json:"gasLimit"`
	GasUsed          string   `json:"gasUsed"`
	Hash             string   `json:"hash"`
	LogsBloom        string   `json:"logsBloom"`
	Miner            string   `json:"miner"`
	MixHash          string   `json:"mixHash"`
	Nonce            string   `json:"nonce"`
	Number           string   `json:"number"`
	ParentHash       string   `json:"parentHash"`
	ReceiptsRoot     string   `json:"receiptsRoot"`
	Sha3Uncles       string   `json:"sha3Uncles"`
	Size             string   `json:"size"`
	StateRoot        string   `json:"stateRoot"`
	Timestamp        string   `json:"timestamp"`
	Transactions     []any    `json:"transactions"`
	TransactionsRoot string   `json:"transactionsRoot"`
	Uncles           []string `json:"uncles"`
	Withdrawals      []any    `json:"withdrawals"`
	WithdrawalsRoot  string   `json:"withdrawalsRoot"`
}

type txJSON struct {
	BlockHash            string   `json:"blockHash"`
	BlockNumber          string   `json:"blockNumber"`
	From                 string   `json:"from"`
	Gas                  string   `json:"gas"`
	GasPrice             string   `json:"gasPrice"`
	MaxFeePerGas         string   `json:"maxFeePerGas"`
	MaxPriorityFeePerGas string   `json:"maxPriorityFeePerGas"`
	Hash                 string   `json:"hash"`
	Input                string   `json:"input"`
	Nonce                string   `json:"nonce"`
	To                   string   `json:"to"`
	TransactionIndex     string   `json:"transactionIndex"`
	Value                string   `json:"value"`
	Type                 string   `json:"type"`
	AccessList           []string `json:"accessList"`
	ChainID              string   `json:"chainId"`
	V                    string   `json:"v"`
	YParity              string   `json:"yParity"`
	R                    string   `json:"r"`
	S                    string   `json:"s"`
}

type logJSON struct {
	Address          string   `json:"address"`
	Topics           []string `json:"topics"`
	Data             string   `json:"data"`
	BlockNumber      string   `json:"blockNumber"`
	TransactionHash  string   `json:"transactionHash"`
	TransactionIndex string   `json:"transactionIndex"`
	BlockHash        string   `json:"blockHash"`
	LogIndex         string   `json:"logIndex"`
	Removed          bool     `json:"removed"`
}

// block builds block n as eth_getBlockByNumber returns it.
func (c *chain) block(n uint64, fullTx bool) *blockJSON {
	h := c.blockHash(n)
	parent := "0x" + hex.EncodeToString(make([]byte, 32))
	if n > 0 {
		ph := c.blockHash(n - 1)
		parent = hexBytes(ph[:])
	}
	txs := c.txs(n)
	baseFee := c.baseFee(n)
	b := &blockJSON{
		BaseFeePerGas:    hexUint(baseFee),
		Difficulty:       "0x0",
		ExtraData:        hexBytes([]byte("rpcgate-demo")),
		GasLimit:         hexUint(gasLimit),
		Hash:             hexBytes(h[:]),
		LogsBloom:        zeroBloom,
		Miner:            hexBytes(c.accounts[h[2]%16][:]),
		MixHash:          hexHash(c.digest("mix", n)),
		Nonce:            "0x0000000000000000",
		Number:           hexUint(n),
		ParentHash:       parent,
		ReceiptsRoot:     hexHash(c.digest("receipts", n)),
		Sha3Uncles:       emptyUncleHash,
		Size:             hexUint(uint64(600 + 180*len(txs))),
		StateRoot:        hexHash(c.digest("state", n)),
		Timestamp:        hexUint(c.timestamp(n)),
		Transactions:     make([]any, 0, len(txs)),
		TransactionsRoot: emptyTrieRoot,
		Uncles:           []string{},
		Withdrawals:      []any{},
		WithdrawalsRoot:  emptyTrieRoot,
	}
	if len(txs) > 0 {
		b.TransactionsRoot = hexHash(c.digest("txroot", n))
	}
	var used uint64
	for i, tx := range txs {
		used += tx.gas
		if !fullTx {
			b.Transactions = append(b.Transactions, hexBytes(tx.hash[:]))
			continue
		}
		b.Transactions = append(b.Transactions, c.txJSON(n, i, tx, baseFee))
	}
	b.GasUsed = hexUint(used)
	return b
}

func (c *chain) txJSON(n uint64, i int, tx synthTx, baseFee uint64) *txJSON {
	bh := c.blockHash(n)
	sig := c.digest("sig", n, uint64(i))
	sig2 := c.digest("sig2", n, uint64(i))
	t := &txJSON{
		BlockHash:            hexBytes(bh[:]),
		BlockNumber:          hexUint(n),
		From:                 hexBytes(tx.from[:]),
		Gas:                  hexUint(tx.gas + tx.gas/5),
		GasPrice:             hexUint(baseFee + tx.tip),
		MaxFeePerGas:         hexUint(2*baseFee + tx.tip),
		MaxPriorityFeePerGas: hexUint(tx.tip),
		Hash:                 hexBytes(tx.hash[:]),
		Input:                "0x",
		Nonce:                hexUint(tx.nonce),
		To:                   hexBytes(tx.to[:]),
		TransactionIndex:     hexUint(uint64(i)),
		Value:                "0x" + tx.value.Text(16),
		Type:                 "0x2",
		AccessList:           []string{},
		ChainID:              hexUint(c.id),
		V:                    hexUint(uint64(sig[0] % 2)),
		YParity:              hexUint(uint64(sig[0] % 2)),
		R:                    hexBytes(sig[:]),
		S:                    hexBytes(sig2[:]),
	}
	if tx.token {
		t.Value = "0x0"
		t.Input = "0xa9059cbb" + hex.EncodeToString(pad32(tx.rcpt[:])) + hex.EncodeToString(pad32(tx.value.Bytes()))
	}
	return t
}

// logs returns the logs of block n in order.
func (c *chain) logs(n uint64) []logJSON {
	bh := c.blockHash(n)
	var out []logJSON
	for i, tx := range c.txs(n) {
		if !tx.token {
			continue
		}
		out = append(out, logJSON{
			Address:          hexBytes(tx.to[:]),
			Topics:           []string{transferTopic, hexBytes(pad32(tx.from[:])), hexBytes(pad32(tx.rcpt[:]))},
			Data:             hexBytes(pad32(tx.value.Bytes())),
			BlockNumber:      hexUint(n),
			TransactionHash:  hexBytes(tx.hash[:]),
			TransactionIndex: hexUint(uint64(i)),
			BlockHash:        hexBytes(bh[:]),
			LogIndex:         hexUint(uint64(len(out))),
		})
	}
	return out
}

func pad32(b []byte) []byte {
	out := make([]byte, 32)
	copy(out[32-len(b):], b)
	return out
}
