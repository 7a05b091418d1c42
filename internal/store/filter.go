package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Filter is an eth_getLogs filter with geth's semantics: Addresses is an
// OR list (empty: any); Topics[i] is an OR list for position i (empty:
// any); a block range [From, To] or one block by hash.
type Filter struct {
	From, To  uint64
	BlockHash string
	Addresses []string
	Topics    [][]string
	// FromTag/ToTag are set when an end is a tag ("latest", …) the store
	// cannot resolve; such filters go to nodes.
	FromTag, ToTag string
}

// ErrBadFilter says params are not a filter the store understands; the
// call goes to nodes, which give the proper error.
var ErrBadFilter = errors.New("store: not a filter the store serves")

// ParseFilter reads eth_getLogs params: [ {fromBlock, toBlock, blockHash,
// address, topics} ].
func ParseFilter(params []byte) (Filter, error) {
	var arr []json.RawMessage
	if err := json.Unmarshal(params, &arr); err != nil || len(arr) != 1 {
		return Filter{}, ErrBadFilter
	}
	var raw struct {
		FromBlock *string         `json:"fromBlock"`
		ToBlock   *string         `json:"toBlock"`
		BlockHash *string         `json:"blockHash"`
		Address   json.RawMessage `json:"address"`
		Topics    []json.RawMessage
	}
	if err := json.Unmarshal(arr[0], &raw); err != nil {
		return Filter{}, ErrBadFilter
	}
	var f Filter
	if raw.BlockHash != nil {
		if raw.FromBlock != nil || raw.ToBlock != nil || !isHash(*raw.BlockHash) {
			return Filter{}, ErrBadFilter
		}
		f.BlockHash = strings.ToLower(*raw.BlockHash)
	} else {
		var err error
		if f.From, f.FromTag, err = blockArg(raw.FromBlock); err != nil {
			return Filter{}, err
		}
		if f.To, f.ToTag, err = blockArg(raw.ToBlock); err != nil {
			return Filter{}, err
		}
	}
	if len(raw.Address) > 0 && string(raw.Address) != "null" {
		var one string
		if json.Unmarshal(raw.Address, &one) == nil {
			f.Addresses = []string{one}
		} else if err := json.Unmarshal(raw.Address, &f.Addresses); err != nil {
			return Filter{}, ErrBadFilter
		}
		for i, a := range f.Addresses {
			if !isHex(a, 20) {
				return Filter{}, ErrBadFilter
			}
			f.Addresses[i] = strings.ToLower(a)
		}
	}
	if len(raw.Topics) > 4 {
		return Filter{}, ErrBadFilter
	}
	for _, t := range raw.Topics {
		var pos []string
		switch {
		case len(t) == 0 || string(t) == "null":
		default:
			var one string
			if json.Unmarshal(t, &one) == nil {
				pos = []string{one}
			} else {
				var list []*string
				if err := json.Unmarshal(t, &list); err != nil {
					return Filter{}, ErrBadFilter
				}
				for _, x := range list {
					if x == nil {
						// A null inside an OR list matches anything at
						// that position, as in geth.
						pos = nil
						break
					}
					pos = append(pos, *x)
				}
			}
		}
		for i, x := range pos {
			if !isHash(x) {
				return Filter{}, ErrBadFilter
			}
			pos[i] = strings.ToLower(x)
		}
		f.Topics = append(f.Topics, pos)
	}
	return f, nil
}

// blockArg reads fromBlock/toBlock: a quantity, or a tag (absent is
// "latest").
func blockArg(s *string) (uint64, string, error) {
	if s == nil {
		return 0, "latest", nil
	}
	switch *s {
	case "latest", "pending", "safe", "finalized", "earliest":
		if *s == "earliest" {
			return 0, "", nil
		}
		return 0, *s, nil
	}
	n, err := parseQuantity(*s)
	if err != nil {
		return 0, "", ErrBadFilter
	}
	return n, "", nil
}

func isHash(s string) bool { return isHex(s, 32) }

func isHex(s string, bytes int) bool {
	if len(s) != 2+2*bytes || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return false
	}
	for _, c := range s[2:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// Logs is the raw JSON array of the logs matching f, whose range must be
// numeric (resolve blockHash first), in (block, index) order.
func (s *Store) Logs(ctx context.Context, f Filter) ([]byte, error) {
	if f.FromTag != "" || f.ToTag != "" {
		return nil, ErrBadFilter
	}
	if f.BlockHash != "" {
		n, err := s.BlockNumberOf(ctx, f.BlockHash)
		if err != nil {
			return nil, err
		}
		f.From, f.To = n, n
	}
	if f.From > f.To {
		return []byte("[]"), nil
	}
	q := strings.Builder{}
	q.WriteString(`SELECT raw FROM logs WHERE block_number BETWEEN $1 AND $2`)
	args := []any{int64(f.From), int64(f.To)}
	if len(f.Addresses) > 0 {
		args = append(args, f.Addresses)
		fmt.Fprintf(&q, ` AND address = ANY($%d)`, len(args))
	}
	for i, pos := range f.Topics {
		if len(pos) == 0 {
			continue
		}
		args = append(args, pos)
		q.WriteString(` AND topic` + strconv.Itoa(i) + ` = ANY($` + strconv.Itoa(len(args)) + `)`)
	}
	if n := len(f.Topics); n > 0 {
		// geth: a log with fewer topics than the filter has positions
		// never matches, even when the extra positions are wildcards.
		q.WriteString(` AND topic` + strconv.Itoa(n-1) + ` IS NOT NULL`)
	}
	q.WriteString(` ORDER BY block_number, log_index`)
	rows, err := s.Pool.Query(ctx, q.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []byte{'['}
	first := true
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, raw...)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return append(out, ']'), nil
}
