package filters

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns an identifier in geth's format: 16 random bytes, hex with
// a 0x prefix (rpc.NewID). Subscriptions use the same format.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return "0x" + hex.EncodeToString(b[:])
}
