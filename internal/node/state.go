package node

// State is a node's health as seen by its background checker.
type State uint32

const (
	// StateUnknown: not verified yet (eth_chainId not checked).
	StateUnknown State = iota
	// StateOK: verified and answering.
	StateOK
	// StateEjected: too many consecutive failures; re-probed under backoff.
	StateEjected
	// StateWrongChain: eth_chainId does not match the chain; never used.
	StateWrongChain
	// StateDraining: takes no new requests (set by the operator).
	StateDraining
)

var stateNames = [...]string{"unknown", "ok", "ejected", "wrong-chain", "draining"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "invalid"
}
