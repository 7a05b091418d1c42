// Package joinproto is the wire protocol between `rpcgate agent` and the
// orchestrator: JSON text messages over one WebSocket at /join. The agent
// sends join, then heartbeats, and leave on shutdown; the orchestrator
// answers accepted or refused, then state changes, and left once a leaving
// node is drained. Decode judges untrusted bytes; both sides use it.
package joinproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Message types.
const (
	TypeJoin      = "join"      // agent → orchestrator, first message
	TypeHeartbeat = "heartbeat" // agent → orchestrator, every Heartbeat
	TypeLeave     = "leave"     // agent → orchestrator: drain me, then I go
	TypeAccepted  = "accepted"  // orchestrator → agent: admitted (on probation)
	TypeRefused   = "refused"   // orchestrator → agent: not admitted, with Check and Reason
	TypeState     = "state"     // orchestrator → agent: the node's state changed
	TypeLeft      = "left"      // orchestrator → agent: drained and removed
)

// Limits on what a message may carry.
const (
	// MaxMessageBytes is the largest message either side reads.
	MaxMessageBytes = 16 << 10
	maxField        = 1024
	maxName         = 64
)

// Facts is what the agent read from its node's local RPC.
type Facts struct {
	ChainID uint64 `json:"chain_id"`
	Genesis string `json:"genesis,omitempty"` // block 0's hash
	Client  string `json:"client,omitempty"`  // web3_clientVersion
	Head    uint64 `json:"head"`
	Peers   uint64 `json:"peers"`
	Syncing bool   `json:"syncing"`
}

// Message is one message of either side; Type says which fields matter.
type Message struct {
	Type string `json:"type"`

	// join
	Token string `json:"token,omitempty"` // per-node token or the chain's shared secret
	Chain string `json:"chain,omitempty"`
	Name  string `json:"name,omitempty"`
	URL   string `json:"url,omitempty"` // where relayers reach the node (http)
	WS    string `json:"ws,omitempty"`  // and its WebSocket, if any

	// join and heartbeat
	Facts *Facts `json:"facts,omitempty"`

	// accepted, refused, state
	State       string `json:"state,omitempty"`  // probation, serving, draining
	Check       string `json:"check,omitempty"`  // the verification check that failed
	Reason      string `json:"reason,omitempty"` // why, for people
	HeartbeatMs int64  `json:"heartbeat_ms,omitempty"`
}

// ErrBadMessage is wrapped by every error Decode returns.
var ErrBadMessage = errors.New("bad join protocol message")

// Decode reads one message and checks it is well formed: a known type, the
// fields that type needs, bounded lengths, and nothing unknown.
func Decode(b []byte) (Message, error) {
	var m Message
	bad := func(format string, args ...any) (Message, error) {
		return Message{}, fmt.Errorf("%w: %s", ErrBadMessage, fmt.Sprintf(format, args...))
	}
	if len(b) > MaxMessageBytes {
		return bad("%d bytes, more than %d", len(b), MaxMessageBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return bad("not a JSON object of the protocol: %v", err)
	}
	if dec.More() {
		return bad("trailing data after the message")
	}
	for name, v := range map[string]string{"type": m.Type, "token": m.Token, "chain": m.Chain, "url": m.URL, "ws": m.WS,
		"state": m.State, "check": m.Check, "reason": m.Reason} {
		if len(v) > maxField {
			return bad("%s is longer than %d bytes", name, maxField)
		}
	}
	if m.Facts != nil && (len(m.Facts.Genesis) > 80 || len(m.Facts.Client) > 256) {
		return bad("facts too long")
	}
	switch m.Type {
	case TypeJoin:
		switch {
		case m.Token == "":
			return bad("join without token")
		case m.Chain == "" || strings.Contains(m.Chain, "/"):
			return bad("join needs a chain name without '/'")
		case !ValidName(m.Name):
			return bad("join needs a name of 1 to %d letters, digits, '-', '_' or '.'", maxName)
		case m.URL == "":
			return bad("join without url")
		case m.Facts == nil:
			return bad("join without facts")
		}
	case TypeHeartbeat:
		if m.Facts == nil {
			return bad("heartbeat without facts")
		}
	case TypeLeave, TypeAccepted, TypeState, TypeLeft:
	case TypeRefused:
		if m.Check == "" {
			return bad("refused without check")
		}
	case "":
		return bad("no type")
	default:
		return bad("unknown type %q", m.Type)
	}
	return m, nil
}

// ValidName reports a node name the orchestrator accepts: 1 to 64 of
// letters, digits, '-', '_' and '.'.
func ValidName(s string) bool {
	if s == "" || len(s) > maxName {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// Encode marshals m (for writing as one text message).
func Encode(m Message) []byte {
	b, _ := json.Marshal(m) // a Message always marshals
	return b
}
