package snapshot

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"time"
)

// CreateOptions say what to snapshot and where.
type CreateOptions struct {
	Data      string // the stopped node's data directory
	Store     Store
	Key       ed25519.PrivateKey
	Chain     string // a chain name: [a-z0-9][a-z0-9_-]*
	ChainID   uint64
	Block     uint64
	BlockHash string
	Client    string
	ChunkSize int64 // default DefaultChunkSize
	Parallel  int   // chunks compressed and uploaded at once; default 2 × GOMAXPROCS
	// Exclude skips entries whose slash path relative to Data matches one
	// of these path.Match patterns (a directory with its contents): node
	// identity and secrets (nodekey, jwt.hex, keystore) must not be
	// published.
	Exclude  []string
	Progress *Progress
	Now      func() time.Time // default time.Now
}

// CreateResult says what a create did.
type CreateResult struct {
	Name          string // the manifest's store name
	Manifest      *Manifest
	Uploaded      int   // chunks written to the store
	Reused        int   // chunks the store already held (shared with earlier snapshots)
	UploadedBytes int64 // compressed
}

var chainName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Create snapshots o.Data into o.Store: chunks first (skipping those the
// store holds), then the signed manifest, then latest.json, so a reader
// that sees a manifest finds all its chunks.
func Create(ctx context.Context, o CreateOptions) (*CreateResult, error) {
	if !chainName.MatchString(o.Chain) {
		return nil, fmt.Errorf("snapshot: chain name %q: use lower-case letters, digits, - and _", o.Chain)
	}
	if len(o.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("snapshot: a signing key is required")
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.ChunkSize > maxChunkSize {
		return nil, fmt.Errorf("snapshot: chunk size above %d", maxChunkSize)
	}
	if o.Parallel <= 0 {
		// Twice the CPUs: while one chunk is read or uploaded, another
		// is compressed.
		o.Parallel = 2 * runtime.GOMAXPROCS(0)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Manifest{Version: FormatVersion, Chain: o.Chain, ChainID: o.ChainID, Block: o.Block, BlockHash: o.BlockHash,
		Client: o.Client, Created: o.Now().UTC().Truncate(time.Second), ChunkSize: o.ChunkSize}
	for _, p := range o.Exclude {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("snapshot: --exclude %q: %w", p, err)
		}
	}
	if err := walk(o.Data, m, o.Exclude); err != nil {
		return nil, err
	}
	// Plan the chunks: every regular file cut at ChunkSize boundaries.
	for i, f := range m.Files {
		for off := int64(0); off < f.Size; off += o.ChunkSize {
			m.Chunks = append(m.Chunks, Chunk{File: i, Offset: off, Size: min(o.ChunkSize, f.Size-off)})
		}
	}
	c, err := newCodec(o.ChunkSize)
	if err != nil {
		return nil, err
	}
	defer c.close()
	res := &CreateResult{Manifest: m}
	o.Progress.Begin(len(m.Chunks), m.Bytes())
	err = o.upload(ctx, c, m, res)
	o.Progress.End()
	if err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	signed, err := Sign(m, o.Key)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(signed)
	res.Name = fmt.Sprintf("manifests/%s/%s-%012d-%s.json", o.Chain, m.Created.Format("20060102T150405Z"), m.Block, hex.EncodeToString(sum[:4]))
	if err := o.Store.Put(ctx, res.Name, bytes.NewReader(signed), int64(len(signed))); err != nil {
		return nil, err
	}
	latest, _ := json.MarshalIndent(Latest{Chain: o.Chain, Manifest: res.Name, Block: m.Block, Created: m.Created}, "", " ")
	for _, name := range []string{o.Chain + "/latest.json", "latest.json"} {
		if err := o.Store.Put(ctx, name, bytes.NewReader(latest), int64(len(latest))); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// walk lists the data directory in lexical order (a directory before its
// contents). Anything but directories and regular files (symlinks,
// sockets, devices) is refused: a snapshot must not point outside DIR.
func walk(root string, m *Manifest, exclude []string) error {
	st, err := os.Lstat(root)
	if err != nil {
		return fmt.Errorf("snapshot: data dir: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("snapshot: data dir %s is not a directory", root)
	}
	m.RootMode = uint32(st.Mode().Perm())
	return filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		for _, p := range exclude {
			if ok, _ := path.Match(p, rel); ok {
				if e.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		switch {
		case info.Mode().IsDir():
			m.Files = append(m.Files, File{Path: rel, Dir: true, Mode: uint32(info.Mode().Perm())})
		case info.Mode().IsRegular():
			m.Files = append(m.Files, File{Path: rel, Mode: uint32(info.Mode().Perm()), Size: info.Size()})
		default:
			return fmt.Errorf("snapshot: %s is a %s; a snapshot holds only directories and regular files (copy what a link points at into the data dir)", rel, info.Mode().Type())
		}
		return CheckPath(rel)
	})
}

// upload reads, hashes, compresses and stores the chunks, o.Parallel at a
// time. A chunk whose hash the store already holds is not uploaded; two
// identical chunks in one snapshot are uploaded once.
func (o *CreateOptions) upload(ctx context.Context, c *codec, m *Manifest, res *CreateResult) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		stored   = map[string]int64{} // hash -> stored size, once known
		inflight = map[string]chan struct{}{}
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range o.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, o.ChunkSize)
			var zbuf []byte
			for i := range jobs {
				ch := &m.Chunks[i]
				data, err := readChunk(filepath.Join(o.Data, filepath.FromSlash(m.Files[ch.File].Path)), ch.Offset, buf[:ch.Size])
				if err != nil {
					fail(err)
					continue
				}
				ch.Hash = hashOf(data)
				// One upload per hash: later holders wait for the first.
				mu.Lock()
				if n, ok := stored[ch.Hash]; ok {
					ch.Stored = n
					mu.Unlock()
					o.Progress.Add(ch.Size)
					continue
				}
				if wait, ok := inflight[ch.Hash]; ok {
					mu.Unlock()
					select {
					case <-wait:
					case <-ctx.Done():
						continue
					}
					mu.Lock()
					ch.Stored = stored[ch.Hash]
					mu.Unlock()
					o.Progress.Add(ch.Size)
					continue
				}
				done := make(chan struct{})
				inflight[ch.Hash] = done
				mu.Unlock()
				n, uploaded, err := o.putChunk(ctx, c, ch.Hash, data, &zbuf)
				mu.Lock()
				if err == nil {
					stored[ch.Hash] = n
					ch.Stored = n
					if uploaded {
						res.Uploaded++
						res.UploadedBytes += n
					} else {
						res.Reused++
					}
				}
				delete(inflight, ch.Hash)
				close(done)
				mu.Unlock()
				if err != nil {
					fail(err)
					continue
				}
				o.Progress.Add(ch.Size)
			}
		}()
	}
	for i := range m.Chunks {
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Every chunk must have been seen by now.
	for i := range m.Chunks {
		if m.Chunks[i].Stored == 0 {
			return fmt.Errorf("snapshot: chunk %d was not stored", i)
		}
	}
	return nil
}

// putChunk stores one chunk unless the store holds it; it reports the
// stored size and whether it uploaded.
func (o *CreateOptions) putChunk(ctx context.Context, c *codec, hash string, data []byte, zbuf *[]byte) (int64, bool, error) {
	name := chunkName(hash)
	if n, err := o.Store.Stat(ctx, name); err == nil && n > 0 {
		return n, false, nil
	} else if err != nil && !errors.Is(err, ErrNotExist) {
		return 0, false, err
	}
	*zbuf = c.compress(*zbuf, data)
	if err := o.Store.Put(ctx, name, bytes.NewReader(*zbuf), int64(len(*zbuf))); err != nil {
		return 0, false, err
	}
	return int64(len(*zbuf)), true, nil
}

func readChunk(path string, off int64, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n, err := f.ReadAt(buf, off)
	if err != nil && !(errors.Is(err, io.EOF) && n == len(buf)) {
		return nil, fmt.Errorf("snapshot: read %s (did the data change while snapshotting? stop the node first): %w", path, err)
	}
	return buf[:n], nil
}
