package summary

import (
	"math/rand/v2"
	"sync"
	"time"
)

// ID is a record id in the ULID layout: 48 bits of Unix milliseconds and
// 80 random bits, written as 26 Crockford base32 characters. Ids sort by
// time, and consumers de-duplicate on them (the NATS sink also sends the
// id as Nats-Msg-Id, so JetStream drops re-sends within its duplicate
// window).
type ID [16]byte

// IDSource makes ids; safe for concurrent use.
type IDSource struct {
	mu  sync.Mutex
	rng *rand.ChaCha8
}

// NewIDSource seeds a generator from the runtime's random source.
func NewIDSource() *IDSource {
	var seed [32]byte
	for i := 0; i < 4; i++ {
		v := rand.Uint64()
		for j := 0; j < 8; j++ {
			seed[i*8+j] = byte(v >> (8 * j))
		}
	}
	return &IDSource{rng: rand.NewChaCha8(seed)}
}

// New returns an id for time t.
func (s *IDSource) New(t time.Time) ID {
	var id ID
	ms := uint64(t.UnixMilli())
	for i := 0; i < 6; i++ {
		id[i] = byte(ms >> (8 * (5 - i)))
	}
	s.mu.Lock()
	_, _ = s.rng.Read(id[6:]) // ChaCha8.Read never fails
	s.mu.Unlock()
	return id
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Append writes the 26-character text form.
func (id ID) Append(b []byte) []byte {
	// 128 bits → 26 base32 characters (the first holds 3 bits).
	hi := uint64(id[0])<<56 | uint64(id[1])<<48 | uint64(id[2])<<40 | uint64(id[3])<<32 |
		uint64(id[4])<<24 | uint64(id[5])<<16 | uint64(id[6])<<8 | uint64(id[7])
	lo := uint64(id[8])<<56 | uint64(id[9])<<48 | uint64(id[10])<<40 | uint64(id[11])<<32 |
		uint64(id[12])<<24 | uint64(id[13])<<16 | uint64(id[14])<<8 | uint64(id[15])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return append(b, out[:]...)
}

func (id ID) String() string { return string(id.Append(nil)) }
