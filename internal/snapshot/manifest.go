// Package snapshot publishes and fetches chain-data snapshots: a stopped
// node's data directory cut into content-addressed zstd chunks, described
// by a manifest signed with ed25519, stored in a directory, an S3 bucket or
// (for fetching) behind HTTP, and fetched back in parallel, verified and
// resumable.
//
// Layout of a snapshot store (the same in every backend):
//
//	chunks/<hh>/<sha256>.zst        one chunk, zstd-compressed; the name is
//	                                the sha256 of its uncompressed bytes
//	manifests/<chain>/<name>.json   a signed manifest
//	<chain>/latest.json             points at the chain's newest manifest
//	latest.json                     points at the newest manifest of any chain
package snapshot

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"
)

// FormatVersion is the manifest format this package writes and reads.
const FormatVersion = 1

// Limits on what a manifest may describe, so a hostile one cannot make
// the fetcher allocate without bound.
const (
	maxFiles     = 1 << 20
	maxChunks    = 1 << 22
	maxChunkSize = 1 << 30
	maxPathLen   = 4096
)

// Manifest describes one snapshot.
type Manifest struct {
	Version   int       `json:"version"`
	Chain     string    `json:"chain"`
	ChainID   uint64    `json:"chain_id"`
	Block     uint64    `json:"block"`
	BlockHash string    `json:"block_hash,omitempty"`
	Client    string    `json:"client,omitempty"` // the node client and version, e.g. "anvil 1.7.1"
	Created   time.Time `json:"created"`
	ChunkSize int64     `json:"chunk_size"`
	RootMode  uint32    `json:"root_mode"` // the data dir's own permission bits
	Files     []File    `json:"files"`
	Chunks    []Chunk   `json:"chunks"`
}

// File is one entry of the data directory. Regular files are the
// concatenation of their chunks, in manifest order.
type File struct {
	Path string `json:"path"` // slash-separated, relative to the data dir
	Dir  bool   `json:"dir,omitempty"`
	Mode uint32 `json:"mode"` // permission bits only
	Size int64  `json:"size"`
}

// Chunk is one piece of one file.
type Chunk struct {
	Hash   string `json:"hash"`   // hex sha256 of the uncompressed bytes
	File   int    `json:"file"`   // index into Files
	Offset int64  `json:"offset"` // where in the file it starts
	Size   int64  `json:"size"`   // uncompressed
	Stored int64  `json:"stored"` // compressed, as kept in the store
}

// Signed is a manifest as stored: its exact bytes and their signature.
type Signed struct {
	Manifest  json.RawMessage `json:"manifest"`
	Signature []byte          `json:"signature"` // ed25519 over Manifest
}

// ErrSignature means the manifest was not signed by the configured key.
var ErrSignature = errors.New("snapshot: manifest signature does not verify with the configured public key (signed by another key, or altered)")

// Sign encodes m and signs it.
func Sign(m *Manifest, key ed25519.PrivateKey) ([]byte, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	// Not indented: MarshalIndent would re-indent the signed bytes.
	return json.Marshal(Signed{Manifest: body, Signature: ed25519.Sign(key, body)})
}

// Open checks a stored manifest's signature against pub and then decodes
// and validates it. Nothing in raw is trusted before the signature holds.
func Open(raw []byte, pub ed25519.PublicKey) (*Manifest, error) {
	var s Signed
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("snapshot: manifest is not valid JSON: %w", err)
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("snapshot: public key has the wrong size")
	}
	if len(s.Manifest) == 0 || !ed25519.Verify(pub, s.Manifest, s.Signature) {
		return nil, ErrSignature
	}
	var m Manifest
	if err := json.Unmarshal(s.Manifest, &m); err != nil {
		return nil, fmt.Errorf("snapshot: signed manifest does not decode: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks that the manifest is self-consistent and that no path
// can escape the data directory: paths are relative, clean, free of ".."
// and of NUL, and unique; every chunk lies inside its (regular) file, and
// the chunks of a file cover it exactly, in order.
func (m *Manifest) Validate() error {
	if m.Version != FormatVersion {
		return fmt.Errorf("snapshot: manifest format %d; this rpcgate reads %d", m.Version, FormatVersion)
	}
	if len(m.Files) > maxFiles || len(m.Chunks) > maxChunks {
		return errors.New("snapshot: manifest lists too many files or chunks")
	}
	if m.ChunkSize <= 0 || m.ChunkSize > maxChunkSize {
		return fmt.Errorf("snapshot: manifest chunk size %d out of range", m.ChunkSize)
	}
	if m.RootMode&^uint32(fs.ModePerm) != 0 {
		return errors.New("snapshot: manifest root mode has bits beyond permissions")
	}
	seen := make(map[string]bool, len(m.Files))
	dirs := map[string]bool{}
	for i, f := range m.Files {
		if err := CheckPath(f.Path); err != nil {
			return err
		}
		if seen[f.Path] {
			return fmt.Errorf("snapshot: manifest lists %q twice", f.Path)
		}
		seen[f.Path] = true
		if dir := path.Dir(f.Path); dir != "." && !dirs[dir] {
			return fmt.Errorf("snapshot: %q does not follow a directory entry for %q", f.Path, dir)
		}
		if f.Dir {
			dirs[f.Path] = true
		}
		if f.Mode&^uint32(fs.ModePerm) != 0 {
			return fmt.Errorf("snapshot: %q has mode bits beyond permissions", f.Path)
		}
		if f.Size < 0 || (f.Dir && f.Size != 0) {
			return fmt.Errorf("snapshot: file %d has a bad size", i)
		}
	}
	next := make([]int64, len(m.Files)) // the offset each file's next chunk must start at
	for i, c := range m.Chunks {
		if len(c.Hash) != 64 {
			return fmt.Errorf("snapshot: chunk %d has a bad hash", i)
		}
		if _, err := hex.DecodeString(c.Hash); err != nil || strings.ToLower(c.Hash) != c.Hash {
			return fmt.Errorf("snapshot: chunk %d has a bad hash", i)
		}
		if c.File < 0 || c.File >= len(m.Files) || m.Files[c.File].Dir {
			return fmt.Errorf("snapshot: chunk %d names no regular file", i)
		}
		// zstd never grows data by more than a few bytes per block; the
		// bound keeps a hostile manifest from making a download (which
		// is held in memory to decompress) larger than a chunk.
		if c.Size <= 0 || c.Size > m.ChunkSize || c.Stored <= 0 || c.Stored > m.ChunkSize+m.ChunkSize/8+1024 {
			return fmt.Errorf("snapshot: chunk %d has a bad size", i)
		}
		if c.Offset != next[c.File] {
			return fmt.Errorf("snapshot: chunk %d does not continue its file", i)
		}
		next[c.File] += c.Size
	}
	for i, f := range m.Files {
		if next[i] != f.Size {
			return fmt.Errorf("snapshot: the chunks of %q do not cover it", f.Path)
		}
	}
	return nil
}

// Bytes is the uncompressed size of the data directory.
func (m *Manifest) Bytes() (n int64) {
	for _, c := range m.Chunks {
		n += c.Size
	}
	return n
}

// CheckPath refuses a manifest path that could land outside the data
// directory: absolute, not clean, "..", a backslash or NUL, or empty.
func CheckPath(p string) error {
	switch {
	case p == "" || len(p) > maxPathLen:
		return fmt.Errorf("snapshot: empty or overlong path in manifest")
	case strings.ContainsAny(p, "\\\x00"):
		return fmt.Errorf("snapshot: path %q holds a backslash or NUL", p)
	case path.IsAbs(p) || strings.HasPrefix(p, "/"):
		return fmt.Errorf("snapshot: path %q is absolute", p)
	case path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("snapshot: path %q is not a clean relative path (no .., no ./)", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." || part == "." {
			return fmt.Errorf("snapshot: path %q escapes the data directory", p)
		}
	}
	return nil
}

// Latest is latest.json: where a chain's newest manifest is.
type Latest struct {
	Chain    string    `json:"chain"`
	Manifest string    `json:"manifest"` // store name, manifests/<chain>/<name>.json
	Block    uint64    `json:"block"`
	Created  time.Time `json:"created"`
}

// ParseLatest decodes latest.json and checks that it names a manifest
// inside the store's manifests/ area.
func ParseLatest(raw []byte) (*Latest, error) {
	var l Latest
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, fmt.Errorf("snapshot: latest.json is not valid JSON: %w", err)
	}
	if err := CheckPath(l.Manifest); err != nil {
		return nil, fmt.Errorf("snapshot: latest.json: %w", err)
	}
	if !strings.HasPrefix(l.Manifest, "manifests/") || !strings.HasSuffix(l.Manifest, ".json") {
		return nil, fmt.Errorf("snapshot: latest.json names %q, not a manifest", l.Manifest)
	}
	return &l, nil
}
