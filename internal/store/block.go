package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rpcgate/rpcgate/internal/jsonrpc"
)

// Block is one block as the writer stores it: the node's raw JSON.
type Block struct {
	Number       uint64
	Hash, Parent string
	Raw, RawFull []byte
	// Txs are the full block's transaction objects, in order.
	Txs []Tx
	// Receipts is the eth_getBlockReceipts result (a JSON array).
	Receipts    []byte
	ReceiptList [][]byte
	Logs        []Log
	// Envelope is the node's answer around a result, kept once per store
	// so answers are rebuilt byte for byte.
	Envelope Envelope
}

// Tx is one transaction's raw JSON.
type Tx struct {
	Hash string
	Raw  []byte
}

// Log is one log's raw JSON and what filters match on.
type Log struct {
	Index   uint64
	Address string
	Topics  []string
	Raw     []byte
}

// Envelope is a node's answer with the id and the result cut out: Pre
// + id + Mid + result + Post.
type Envelope struct{ Pre, Mid, Post []byte }

// Wrap builds the answer for a client id and a raw result.
func (e Envelope) Wrap(dst, id, result []byte) []byte {
	dst = append(dst, e.Pre...)
	dst = append(dst, id...)
	dst = append(dst, e.Mid...)
	dst = append(dst, result...)
	return append(dst, e.Post...)
}

func (e Envelope) encode() []byte {
	b, _ := json.Marshal([3][]byte{e.Pre, e.Mid, e.Post})
	return b
}

func decodeEnvelope(b []byte) (Envelope, bool) {
	var a [3][]byte
	if json.Unmarshal(b, &a) != nil {
		return Envelope{}, false
	}
	return Envelope{a[0], a[1], a[2]}, true
}

// envelopeOf cuts the id and result out of a node's body; ok is false
// when the id does not come before the result.
func envelopeOf(body []byte) (Envelope, bool) {
	r, err := jsonrpc.ScanResponse(body)
	if err != nil || r.ID == nil || r.Result == nil {
		return Envelope{}, false
	}
	off := len(body) - len(bytes.TrimLeft(body, " \t\r\n"))
	rs := off + (cap(r.Raw) - cap(r.Result))
	re := rs + len(r.Result)
	is, ie := off+r.IDStart, off+r.IDEnd
	if ie > rs || re > len(body) || !bytes.Equal(body[rs:re], r.Result) {
		return Envelope{}, false
	}
	cp := func(b []byte) []byte { return append([]byte(nil), b...) }
	return Envelope{cp(body[:is]), cp(body[ie:rs]), cp(body[re:])}, true
}

// Fetch reads block n with its receipts and logs from src.
func Fetch(ctx context.Context, src *Source, n uint64) (*Block, error) {
	q := quantity(n)
	a, err := src.Call(ctx, "eth_getBlockByNumber", q, false)
	if err != nil {
		return nil, err
	}
	if string(a.Result) == "null" {
		return nil, fmt.Errorf("store: block %d not found on the node", n)
	}
	b := &Block{Number: n, Raw: a.Result}
	env, ok := envelopeOf(a.Body)
	if !ok {
		return nil, errors.New("store: the node's answer has its result before its id; cannot rebuild answers byte for byte")
	}
	b.Envelope = env
	var head struct {
		Hash, ParentHash string
	}
	if err := json.Unmarshal(a.Result, &head); err != nil {
		return nil, err
	}
	b.Hash, b.Parent = strings.ToLower(head.Hash), strings.ToLower(head.ParentHash)
	full, err := src.Call(ctx, "eth_getBlockByHash", b.Hash, true)
	if err != nil {
		return nil, err
	}
	b.RawFull = full.Result
	var fb struct {
		Transactions []json.RawMessage
	}
	if err := json.Unmarshal(full.Result, &fb); err != nil {
		return nil, err
	}
	for _, raw := range fb.Transactions {
		var t struct{ Hash string }
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, err
		}
		b.Txs = append(b.Txs, Tx{strings.ToLower(t.Hash), raw})
	}
	if r, err := src.Call(ctx, "eth_getBlockReceipts", b.Hash); err == nil && string(r.Result) != "null" {
		b.Receipts = r.Result
		var list []json.RawMessage
		if err := json.Unmarshal(r.Result, &list); err != nil {
			return nil, err
		}
		for _, x := range list {
			b.ReceiptList = append(b.ReceiptList, x)
		}
	} else {
		// No eth_getBlockReceipts on this node: one call per transaction.
		for _, t := range b.Txs {
			r, err := src.Call(ctx, "eth_getTransactionReceipt", t.Hash)
			if err != nil {
				return nil, err
			}
			b.ReceiptList = append(b.ReceiptList, r.Result)
		}
		b.Receipts = joinArray(b.ReceiptList)
	}
	if len(b.ReceiptList) != len(b.Txs) {
		return nil, fmt.Errorf("store: block %d: %d receipts for %d transactions", n, len(b.ReceiptList), len(b.Txs))
	}
	lg, err := src.Call(ctx, "eth_getLogs", map[string]any{"blockHash": b.Hash})
	if err != nil {
		return nil, err
	}
	var logs []json.RawMessage
	if err := json.Unmarshal(lg.Result, &logs); err != nil {
		return nil, err
	}
	for _, raw := range logs {
		var l struct {
			Address  string
			Topics   []string
			LogIndex string
		}
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, err
		}
		idx, err := parseQuantity(l.LogIndex)
		if err != nil {
			return nil, err
		}
		for i := range l.Topics {
			l.Topics[i] = strings.ToLower(l.Topics[i])
		}
		b.Logs = append(b.Logs, Log{idx, strings.ToLower(l.Address), l.Topics, raw})
	}
	return b, nil
}

func joinArray(items [][]byte) []byte {
	out := []byte{'['}
	for i, x := range items {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, x...)
	}
	return append(out, ']')
}

// ErrDiscontinuous is returned when a block's parent is not the stored
// block below it: the writer stops rather than store a fork.
var ErrDiscontinuous = errors.New("store: parent hash does not match the stored block below")

// Put writes one block with its transactions, receipts and logs in one
// transaction. A block already stored is left alone (inserted reports
// false), so a resumed backfill writes each block once. With checkParent,
// the stored block below must be the block's parent.
func (s *Store) Put(ctx context.Context, b *Block, checkParent bool) (inserted bool, err error) {
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if checkParent && b.Number > 0 {
			var parent string
			err := tx.QueryRow(ctx, `SELECT hash FROM blocks WHERE number = $1`, int64(b.Number-1)).Scan(&parent)
			if err == nil && parent != b.Parent {
				return ErrDiscontinuous
			}
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO blocks (number, hash, parent, tx_count, raw, raw_full, receipts) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (number) DO NOTHING`,
			int64(b.Number), b.Hash, b.Parent, len(b.Txs), b.Raw, b.RawFull, b.Receipts)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		inserted = true
		batch := &pgx.Batch{}
		batch.Queue(`INSERT INTO store_meta (k, v) VALUES ('envelope', $1) ON CONFLICT (k) DO NOTHING`, b.Envelope.encode())
		for i, t := range b.Txs {
			batch.Queue(`INSERT INTO transactions (hash, block_number, tx_index, raw) VALUES ($1,$2,$3,$4)`, t.Hash, int64(b.Number), i, t.Raw)
			batch.Queue(`INSERT INTO receipts (tx_hash, block_number, raw) VALUES ($1,$2,$3)`, t.Hash, int64(b.Number), b.ReceiptList[i])
		}
		for _, l := range b.Logs {
			var tp [4]*string
			for i := 0; i < len(l.Topics) && i < 4; i++ {
				tp[i] = &l.Topics[i]
			}
			batch.Queue(`INSERT INTO logs (block_number, log_index, address, topic0, topic1, topic2, topic3, raw) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
				int64(b.Number), int64(l.Index), l.Address, tp[0], tp[1], tp[2], tp[3], l.Raw)
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	return inserted, err
}
