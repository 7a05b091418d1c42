package snapshot

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const testChunk = 4096

// makeData writes a small data dir with nested directories, an empty
// file, files spanning several chunks and one with unusual mode bits.
func makeData(t testing.TB, dir string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Join(dir, "chaindata", "ancient"), 0o750))
	must(t, os.MkdirAll(filepath.Join(dir, "keystore"), 0o700))
	write := func(name string, n int, mode fs.FileMode) {
		b := make([]byte, n)
		rand.Read(b)
		must(t, os.WriteFile(filepath.Join(dir, name), b, mode))
		must(t, os.Chmod(filepath.Join(dir, name), mode))
	}
	write("chaindata/000001.ldb", 5*testChunk+123, 0o644)
	write("chaindata/ancient/headers.cdat", 3*testChunk, 0o640)
	write("chaindata/CURRENT", 16, 0o644)
	write("keystore/key", 100, 0o600)
	write("empty", 0, 0o644)
	// A compressible file whose chunks repeat: one upload per hash.
	must(t, os.WriteFile(filepath.Join(dir, "zeros"), make([]byte, 4*testChunk), 0o644))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	return k
}

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func create(t testing.TB, data string, s Store, k ed25519.PrivateKey, block uint64) *CreateResult {
	t.Helper()
	res, err := Create(context.Background(), CreateOptions{Data: data, Store: s, Key: k, Chain: "eth", ChainID: 1337,
		Block: block, BlockHash: "0xabc", ChunkSize: testChunk, Parallel: 3})
	must(t, err)
	return res
}

// sameTree fails unless a and b hold the same paths, types, modes and bytes.
func sameTree(t testing.TB, a, b string) {
	t.Helper()
	if ta, tb := tree(t, a), tree(t, b); ta != tb {
		t.Fatalf("trees differ:\n%s\n---\n%s", ta, tb)
	}
}

func tree(t testing.TB, root string) string {
	t.Helper()
	var sb strings.Builder
	must(t, filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, _ := e.Info()
		sb.WriteString(rel + " " + info.Mode().String())
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sb.WriteString(" " + hashOf(b))
		}
		sb.WriteString("\n")
		return nil
	}))
	return sb.String()
}

// counting wraps a real store and counts chunk reads and writes.
type counting struct {
	Store
	mu         sync.Mutex
	gets, puts map[string]int
}

func countingStore(s Store) *counting {
	return &counting{Store: s, gets: map[string]int{}, puts: map[string]int{}}
}

func (c *counting) Get(ctx context.Context, name string, off int64) (io.ReadCloser, error) {
	c.mu.Lock()
	c.gets[name]++
	c.mu.Unlock()
	return c.Store.Get(ctx, name, off)
}

func (c *counting) Put(ctx context.Context, name string, r io.Reader, n int64) error {
	c.mu.Lock()
	c.puts[name]++
	c.mu.Unlock()
	return c.Store.Put(ctx, name, r, n)
}

func (c *counting) chunkGets() (n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.gets {
		if strings.HasPrefix(k, "chunks/") {
			n += v
		}
	}
	return n
}

func (c *counting) chunkPuts() (n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.puts {
		if strings.HasPrefix(k, "chunks/") {
			n += v
		}
	}
	return n
}

func flipByte(t testing.TB, p string, at int64) {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, err)
	b[at%int64(len(b))] ^= 0x01
	must(t, os.WriteFile(p, b, 0o644))
}

func fileBytes(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, err)
	return bytes.Clone(b)
}
