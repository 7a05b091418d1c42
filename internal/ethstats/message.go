// Package ethstats decodes the messages of the ethstats (netstats)
// protocol that Ethereum clients speak when started with --ethstats
// name:secret@host: hello, node-ping, latency, block, pending, stats,
// history, and the primus heartbeat. It judges untrusted bytes and keeps
// only what the orchestrator uses.
package ethstats

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Commands (the first element of "emit").
const (
	Hello          = "hello"
	NodePing       = "node-ping"
	Latency        = "latency"
	Block          = "block"
	Pending        = "pending"
	Stats          = "stats"
	History        = "history"
	BlockNewPaylod = "block_new_payload"
	PrimusPing     = "primus::ping::" // prefix of a bare-string heartbeat
	PrimusPong     = "primus::pong::"
)

// MaxMessageBytes is the largest message read (a history report of 50
// blocks with their transactions fits well below it).
const MaxMessageBytes = 1 << 20

// Info is what a hello says about the node.
type Info struct {
	Name     string `json:"name"`
	Node     string `json:"node"` // client and version, e.g. Geth/v1.17.8-stable/linux-amd64/go1.26
	Port     int    `json:"port"`
	Net      string `json:"net"` // network id
	Protocol string `json:"protocol"`
	API      string `json:"api"`
	OS       string `json:"os"`
	OSVer    string `json:"os_v"`
	Client   string `json:"client"` // the ethstats client's own version
}

// BlockInfo is the part of a reported block that is kept.
type BlockInfo struct {
	Number uint64
	Hash   string
}

// NodeStats is a stats report.
type NodeStats struct {
	Active   bool `json:"active"`
	Syncing  bool `json:"syncing"`
	Peers    int  `json:"peers"`
	GasPrice int  `json:"gasPrice"`
	Uptime   int  `json:"uptime"`
}

// Message is one decoded message. Cmd says which fields are set.
type Message struct {
	Cmd    string // one of the commands, or PrimusPing / PrimusPong
	Primus string // the whole primus string, for the answer
	ID     string // the node's name, as each report repeats it
	Secret string // hello
	Info   Info   // hello
	Block  BlockInfo
	// Pending is the pending transaction count.
	Pending int
	Stats   NodeStats
	// LatencyMs is the client's measured round trip / 2.
	LatencyMs int
	// ClientTime is node-ping's payload, echoed in the pong.
	ClientTime string
	// History holds the reported blocks (history).
	History []BlockInfo
}

// ErrBadMessage is wrapped by every error Decode returns.
var ErrBadMessage = errors.New("bad ethstats message")

// Decode reads one message: a primus string, or {"emit": [cmd, payload]}.
// Unknown commands decode with only Cmd set (the protocol grows; they are
// ignored, not refused).
func Decode(b []byte) (Message, error) {
	bad := func(format string, args ...any) (Message, error) {
		return Message{}, fmt.Errorf("%w: %s", ErrBadMessage, fmt.Sprintf(format, args...))
	}
	if len(b) > MaxMessageBytes {
		return bad("%d bytes, more than %d", len(b), MaxMessageBytes)
	}
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return bad("bad string")
		}
		switch {
		case strings.HasPrefix(s, PrimusPing) && len(s) < 64:
			return Message{Cmd: PrimusPing, Primus: s}, nil
		case strings.HasPrefix(s, PrimusPong) && len(s) < 64:
			return Message{Cmd: PrimusPong, Primus: s}, nil
		}
		return bad("a string that is not a primus heartbeat")
	}
	var env struct {
		Emit []json.RawMessage `json:"emit"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return bad("not an emit object")
	}
	if len(env.Emit) == 0 || len(env.Emit) > 2 {
		return bad("emit has %d elements, want 1 or 2", len(env.Emit))
	}
	var m Message
	if err := json.Unmarshal(env.Emit[0], &m.Cmd); err != nil || m.Cmd == "" || len(m.Cmd) > 64 {
		return bad("emit[0] is not a command name")
	}
	var payload json.RawMessage
	if len(env.Emit) == 2 {
		payload = env.Emit[1]
	}
	need := func(v any) error {
		if len(payload) == 0 {
			return fmt.Errorf("%w: %s without payload", ErrBadMessage, m.Cmd)
		}
		if err := json.Unmarshal(payload, v); err != nil {
			return fmt.Errorf("%w: %s payload: %v", ErrBadMessage, m.Cmd, err)
		}
		return nil
	}
	switch m.Cmd {
	case Hello:
		var p struct {
			ID     string `json:"id"`
			Info   Info   `json:"info"`
			Secret string `json:"secret"`
		}
		if err := need(&p); err != nil {
			return Message{}, err
		}
		if p.ID == "" || len(p.ID) > 256 || len(p.Secret) > 1024 || len(p.Info.Node) > 256 {
			return bad("hello without id, or with fields too long")
		}
		m.ID, m.Secret, m.Info = p.ID, p.Secret, p.Info
	case NodePing:
		var p struct {
			ID         string `json:"id"`
			ClientTime string `json:"clientTime"`
		}
		if err := need(&p); err != nil {
			return Message{}, err
		}
		if len(p.ClientTime) > 128 {
			return bad("clientTime too long")
		}
		m.ID, m.ClientTime = p.ID, p.ClientTime
	case Latency:
		var p struct {
			ID      string          `json:"id"`
			Latency json.RawMessage `json:"latency"`
		}
		if err := need(&p); err != nil {
			return Message{}, err
		}
		n, err := number(p.Latency)
		if err != nil || n > math.MaxInt32 {
			return bad("latency is not a number")
		}
		m.ID, m.LatencyMs = p.ID, int(n)
	case Block:
		var p struct {
			ID    string   `json:"id"`
			Block rawBlock `json:"block"`
		}
		if err := need(&p); err != nil {
			return Message{}, err
		}
		bi, err := p.Block.info()
		if err != nil {
			return Message{}, err
		}
		m.ID, m.Block = p.ID, bi
	case Pending:
		var p struct {
			ID    string `json:"id"`
			Stats struct {
				Pending int `json:"pending"`
			} `json:"stats"`
		}
		if err := need(&p); err != nil {
			return Message{}, err
		}
		m.ID, m.Pending = p.ID, max(p.Stats.Pending, 0)
	case Stats:
		var p struct {
			ID    string    `json:"id"`
			Stats NodeStats `json:"stats"`
		}
		if err := need(&p); err != nil {
			return Message{}, err
		}
		m.ID, m.Stats = p.ID, p.Stats
	case History:
		var p struct {
			ID      string     `json:"id"`
			History []rawBlock `json:"history"`
		}
		if err := need(&p); err != nil {
			return Message{}, err
		}
		m.ID = p.ID
		for _, rb := range p.History {
			bi, err := rb.info()
			if err != nil {
				return Message{}, err
			}
			m.History = append(m.History, bi)
		}
	}
	if len(m.ID) > 256 {
		return bad("id too long")
	}
	return m, nil
}

// rawBlock is a reported block: number as a JSON number (big.Int) or a
// quantity string, and its hash.
type rawBlock struct {
	Number json.RawMessage `json:"number"`
	Hash   string          `json:"hash"`
}

func (r rawBlock) info() (BlockInfo, error) {
	n, err := number(r.Number)
	if err != nil {
		return BlockInfo{}, fmt.Errorf("%w: block number: %v", ErrBadMessage, err)
	}
	if len(r.Hash) > 80 {
		return BlockInfo{}, fmt.Errorf("%w: block hash too long", ErrBadMessage)
	}
	return BlockInfo{Number: n, Hash: strings.ToLower(r.Hash)}, nil
}

// number reads a non-negative integer written as a JSON number, a decimal
// string or a 0x quantity.
func number(raw json.RawMessage) (uint64, error) {
	s := strings.TrimSpace(string(raw))
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	if strings.HasPrefix(s, "0x") {
		return strconv.ParseUint(s[2:], 16, 64)
	}
	return strconv.ParseUint(s, 10, 64)
}

// Ready is the server's answer to an accepted hello.
var Ready = []byte(`{"emit":["ready"]}`)

// Pong answers a node-ping.
func Pong(clientTime string, serverTime int64) []byte {
	b, _ := json.Marshal(map[string][]any{"emit": {"node-pong", map[string]any{"clientTime": clientTime, "serverTime": serverTime}}})
	return b
}
