package chainfeed

import (
	"encoding/json"
	"errors"
	"strings"
)

// MaxTopics is how many topic positions a filter may constrain (geth's
// limit: LOG0..LOG4 carry at most four topics).
const MaxTopics = 4

// Criteria is a log filter as geth reads it: any of Addresses (none means
// any address), and per topic position any of the listed topics (an empty
// position matches anything).
type Criteria struct {
	Addresses []string
	Topics    [][]string
	// FromBlock and ToBlock are kept as sent, for eth_getFilterLogs.
	FromBlock, ToBlock json.RawMessage
	// BlockHash is kept as sent, for eth_getFilterLogs.
	BlockHash json.RawMessage
}

type rawCriteria struct {
	Address   json.RawMessage   `json:"address"`
	Topics    []json.RawMessage `json:"topics"`
	FromBlock json.RawMessage   `json:"fromBlock"`
	ToBlock   json.RawMessage   `json:"toBlock"`
	BlockHash json.RawMessage   `json:"blockHash"`
}

// ParseCriteria reads a filter object ({"address":…, "topics":…}). An
// absent or null object is the empty filter (every log).
func ParseCriteria(raw []byte) (Criteria, error) {
	var c Criteria
	if len(raw) == 0 || string(raw) == "null" {
		return c, nil
	}
	var rc rawCriteria
	if err := json.Unmarshal(raw, &rc); err != nil {
		return c, errors.New("invalid filter object: " + err.Error())
	}
	c.FromBlock, c.ToBlock, c.BlockHash = rc.FromBlock, rc.ToBlock, rc.BlockHash
	addrs, err := hexList(rc.Address, 20)
	if err != nil {
		return c, errors.New("invalid address: " + err.Error())
	}
	c.Addresses = addrs
	if len(rc.Topics) > MaxTopics {
		return c, errors.New("too many topics: at most 4 positions are allowed")
	}
	for _, t := range rc.Topics {
		ts, err := hexList(t, 32)
		if err != nil {
			return c, errors.New("invalid topic: " + err.Error())
		}
		c.Topics = append(c.Topics, ts)
	}
	return c, nil
}

// hexList reads null, "0x…" or ["0x…", null, …] of size-byte values.
func hexList(raw json.RawMessage, size int) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if !isHexBytes(one, size) {
			return nil, errors.New("not a " + itoa(size) + "-byte hex value")
		}
		return []string{strings.ToLower(one)}, nil
	}
	var many []*string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("want a hex string or an array of them")
	}
	var out []string
	for _, s := range many {
		if s == nil {
			continue
		}
		if !isHexBytes(*s, size) {
			return nil, errors.New("not a " + itoa(size) + "-byte hex value")
		}
		out = append(out, strings.ToLower(*s))
	}
	return out, nil
}

func isHexBytes(s string, size int) bool {
	if len(s) != 2+2*size || (s[:2] != "0x" && s[:2] != "0X") {
		return false
	}
	for _, c := range s[2:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func itoa(n int) string {
	if n == 20 {
		return "20"
	}
	return "32"
}

// Match reports whether l passes the filter, with geth's rules: the
// address is one of Addresses (when any), and each constrained topic
// position holds one of its topics.
func (c *Criteria) Match(l *Log) bool {
	if len(c.Addresses) > 0 && !contains(c.Addresses, l.Address) {
		return false
	}
	if len(c.Topics) > len(l.Topics) {
		return false
	}
	for i, want := range c.Topics {
		if len(want) > 0 && !contains(want, l.Topics[i]) {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
