// Package chainfeed follows each chain's canonical head from the whole
// fleet, so that subscriptions and filters never depend on one node. Nodes
// with a ws URL are followed by their own newHeads subscription; the rest
// are polled. Heads are de-duplicated by hash, gaps are filled in order by
// walking parent hashes, a reorg is walked back to its fork point, and every
// new canonical block's logs are fetched by block hash through normal
// routing. Listeners receive each change as one Event: the blocks dropped by
// a reorg, then the blocks added, in ascending order.
//
// One file per concept: block.go (blocks and logs as the feed keeps them),
// criteria.go (geth's log filter), ring.go (the recent canonical chain),
// feed.go (one chain's follower), upstream.go (node subscriptions),
// pending.go (pending transactions), hub.go (one feed per chain),
// metrics.go.
package chainfeed

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// Block is one canonical (or dropped) block as the feed keeps it.
type Block struct {
	Number uint64
	Hash   string // lower-case 0x hex
	Parent string
	// Header is the block header as geth's newHeads sends it.
	Header json.RawMessage
	// Logs are the block's logs in log index order.
	Logs []*Log
}

// Log is one log: its raw JSON as the node sent it, the same with
// "removed": true (for reorgs), and what filters match on.
type Log struct {
	Address string   // lower-case
	Topics  []string // lower-case
	Raw     json.RawMessage
	Removed json.RawMessage
}

// headerDrop are members of a block that geth's newHeads header does not
// carry.
var headerDrop = []string{"transactions", "uncles", "size", "totalDifficulty", "withdrawals"}

// parseBlock reads a block returned by eth_getBlockBy* (transactions as
// hashes).
func parseBlock(raw []byte) (*Block, error) {
	if string(raw) == "null" || len(raw) == 0 {
		return nil, errNoBlock
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	var num, hash, parent string
	if json.Unmarshal(m["number"], &num) != nil || json.Unmarshal(m["hash"], &hash) != nil || json.Unmarshal(m["parentHash"], &parent) != nil {
		return nil, errors.New("block without number, hash or parentHash")
	}
	n, err := parseQuantity(num)
	if err != nil {
		return nil, err
	}
	for _, k := range headerDrop {
		delete(m, k)
	}
	hdr, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return &Block{Number: n, Hash: strings.ToLower(hash), Parent: strings.ToLower(parent), Header: hdr}, nil
}

var errNoBlock = errors.New("no such block")

func parseQuantity(s string) (uint64, error) {
	if !strings.HasPrefix(s, "0x") || len(s) < 3 {
		return 0, errors.New("not a hex quantity: " + strconv.Quote(s))
	}
	return strconv.ParseUint(s[2:], 16, 64)
}

// parseLogs reads the result of eth_getLogs.
func parseLogs(raw []byte) ([]*Log, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	out := make([]*Log, 0, len(items))
	for _, it := range items {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(it, &m); err != nil {
			return nil, err
		}
		var l Log
		var addr string
		var topics []string
		if json.Unmarshal(m["address"], &addr) != nil {
			return nil, errors.New("log without address")
		}
		_ = json.Unmarshal(m["topics"], &topics)
		l.Address = strings.ToLower(addr)
		for _, t := range topics {
			l.Topics = append(l.Topics, strings.ToLower(t))
		}
		m["removed"] = json.RawMessage("false")
		l.Raw, _ = json.Marshal(m)
		m["removed"] = json.RawMessage("true")
		l.Removed, _ = json.Marshal(m)
		out = append(out, &l)
	}
	return out, nil
}
