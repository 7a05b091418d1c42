package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// DefaultChunkSize is the default size of one chunk before compression.
// Large enough that per-chunk overhead (one request, one manifest row)
// vanishes against the transfer; small enough that a cut connection costs
// little and many chunks download in parallel.
const DefaultChunkSize = 64 << 20

// Level is the zstd level chunks are compressed at (see docs/decisions.md:
// the default level keeps create faster than a gigabit link; higher levels
// cost several times the CPU for a few percent on chain data, which is
// largely incompressible hashes).
const Level = zstd.SpeedDefault

// chunkName is where a chunk lives in a store.
func chunkName(hash string) string { return "chunks/" + hash[:2] + "/" + hash + ".zst" }

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// codec compresses and decompresses chunks; one value is safe for
// concurrent use (EncodeAll and DecodeAll are).
type codec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

func newCodec(chunkSize int64) (*codec, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(Level), zstd.WithEncoderConcurrency(1),
		// Text-like data without repeats (hex and base64 in node databases,
		// JSON state dumps) still shrinks by entropy coding alone.
		zstd.WithAllLitEntropyCompression(true))
	if err != nil {
		return nil, err
	}
	// A hostile chunk must not make the decoder allocate more than a
	// chunk's worth.
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(uint64(chunkSize)+1), zstd.WithDecoderConcurrency(0))
	if err != nil {
		return nil, err
	}
	return &codec{enc: enc, dec: dec}, nil
}

func (c *codec) compress(dst, b []byte) []byte { return c.enc.EncodeAll(b, dst[:0]) }

// errBadChunk means a chunk's content does not match its hash.
var errBadChunk = errors.New("content does not match its sha256 (the source is corrupt or was altered)")

// open decompresses a stored chunk into dst and verifies it against want.
func (c *codec) open(dst, stored []byte, want Chunk) ([]byte, error) {
	out, err := c.dec.DecodeAll(stored, dst[:0])
	if err != nil {
		return nil, fmt.Errorf("chunk %s: %w: %v", want.Hash, errBadChunk, err)
	}
	if int64(len(out)) != want.Size || hashOf(out) != want.Hash {
		return nil, fmt.Errorf("chunk %s: %w", want.Hash, errBadChunk)
	}
	return out, nil
}

func (c *codec) close() {
	c.enc.Close()
	c.dec.Close()
}
