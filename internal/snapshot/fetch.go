package snapshot

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
	"time"
)

// FetchOptions say what to fetch and where to.
type FetchOptions struct {
	Store    Store
	Data     string            // the data directory to fill
	Pub      ed25519.PublicKey // the publisher's key
	Chain    string            // which chain's latest.json; "" for the store's latest.json
	Manifest string            // a manifest's store name; overrides Chain
	// Force replaces a non-empty Data; without it such a Data is refused
	// before anything is downloaded.
	Force bool
	// VerifyOnly checks Data against the manifest and changes nothing.
	VerifyOnly bool
	Parallel   int // chunks downloaded at once; default 4
	Progress   *Progress
}

// FetchResult says what a fetch did.
type FetchResult struct {
	Name         string
	Manifest     *Manifest
	Present      int   // chunks already in place from an interrupted fetch
	Fetched      int   // chunk downloads that completed
	FetchedBytes int64 // compressed bytes downloaded
	Bad          []string
}

// ErrNotEmpty refuses to replace a data dir without --force.
var ErrNotEmpty = errors.New("snapshot: the data dir is not empty; pass --force to replace it")

// ErrMismatch is --verify-only's answer for a data dir that differs.
var ErrMismatch = errors.New("snapshot: the data dir does not match the manifest")

const maxManifestBytes = 256 << 20

// Resolve finds and verifies the manifest o names.
func Resolve(ctx context.Context, o FetchOptions) (string, *Manifest, error) {
	name := o.Manifest
	if name == "" {
		ln := "latest.json"
		if o.Chain != "" {
			if !chainName.MatchString(o.Chain) {
				return "", nil, fmt.Errorf("snapshot: bad chain name %q", o.Chain)
			}
			ln = o.Chain + "/latest.json"
		}
		raw, err := getAll(ctx, o.Store, ln, 1<<20)
		if err != nil {
			return "", nil, fmt.Errorf("snapshot: read %s from %s: %w", ln, o.Store, err)
		}
		l, err := ParseLatest(raw)
		if err != nil {
			return "", nil, err
		}
		name = l.Manifest
	}
	raw, err := getAll(ctx, o.Store, name, maxManifestBytes)
	if err != nil {
		return "", nil, fmt.Errorf("snapshot: read manifest %s: %w", name, err)
	}
	m, err := Open(raw, o.Pub)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", name, err)
	}
	if o.Chain != "" && m.Chain != o.Chain {
		return "", nil, fmt.Errorf("snapshot: %s is for chain %q, not %q", name, m.Chain, o.Chain)
	}
	return name, m, nil
}

// Fetch downloads the snapshot into a staging directory beside o.Data,
// then renames it into place. An interrupted fetch leaves the staging
// directory behind; the next fetch of the same manifest keeps every chunk
// already in place (checked against its hash) and continues partly
// downloaded ones with range requests.
func Fetch(ctx context.Context, o FetchOptions) (*FetchResult, error) {
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	name, m, err := Resolve(ctx, o)
	if err != nil {
		return nil, err
	}
	res := &FetchResult{Name: name, Manifest: m}
	if o.VerifyOnly {
		res.Bad, err = Verify(o.Data, m)
		if err == nil && len(res.Bad) > 0 {
			err = fmt.Errorf("%w: %d problem(s), first: %s", ErrMismatch, len(res.Bad), res.Bad[0])
		}
		return res, err
	}
	data := filepath.Clean(o.Data)
	if !o.Force {
		if empty, err := isEmptyDir(data); err != nil {
			return nil, err
		} else if !empty {
			return nil, fmt.Errorf("%w (%s)", ErrNotEmpty, data)
		}
	}
	stage := filepath.Join(filepath.Dir(data), "."+filepath.Base(data)+".snapshot-partial")
	fresh, err := prepareStage(stage, name)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(filepath.Join(stage, "data"))
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if err := layout(root, m); err != nil {
		return nil, err
	}
	// Which chunks are already in place? A fresh stage has none.
	todo := map[string][]int{} // hash -> chunk indexes still to write
	var order []string
	var todoBytes int64
	for i, c := range m.Chunks {
		if !fresh && inPlace(root, m, c) {
			res.Present++
			continue
		}
		if _, ok := todo[c.Hash]; !ok {
			order = append(order, c.Hash)
			todoBytes += c.Size
		}
		todo[c.Hash] = append(todo[c.Hash], i)
	}
	o.Progress.Begin(len(order), todoBytes)
	err = o.download(ctx, root, filepath.Join(stage, "parts"), m, order, todo, res)
	o.Progress.End()
	if err != nil {
		return res, err
	}
	if err := finish(root, m); err != nil {
		return res, err
	}
	root.Close()
	return res, install(stage, data, fs.FileMode(m.RootMode), o.Force)
}

func isEmptyDir(p string) (bool, error) {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return len(names) == 0, err
}

// prepareStage makes the staging directory for manifest name, keeping an
// earlier one for the same manifest. It reports whether it is new.
func prepareStage(stage, name string) (bool, error) {
	marker := filepath.Join(stage, "manifest")
	if b, err := os.ReadFile(marker); err == nil && string(b) == name {
		return false, nil
	}
	if err := os.RemoveAll(stage); err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(stage), 0o755); err != nil {
		return false, err
	}
	for _, d := range []string{stage, filepath.Join(stage, "data"), filepath.Join(stage, "parts")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return false, err
		}
	}
	return true, os.WriteFile(marker, []byte(name), 0o600)
}

// layout creates the directories and sizes the files. Everything goes
// through root, which refuses any path (or symlink) leading outside it.
func layout(root *os.Root, m *Manifest) error {
	for _, f := range m.Files {
		p := filepath.FromSlash(f.Path)
		if st, err := root.Lstat(p); err == nil && st.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("snapshot: %s is a symlink in the staging dir", f.Path)
		}
		if f.Dir {
			if err := root.Mkdir(p, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			continue
		}
		h, err := root.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		err = h.Truncate(f.Size)
		if cerr := h.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func inPlace(root *os.Root, m *Manifest, c Chunk) bool {
	f, err := root.Open(filepath.FromSlash(m.Files[c.File].Path))
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, c.Size)
	if _, err := f.ReadAt(buf, c.Offset); err != nil {
		return false
	}
	return hashOf(buf) == c.Hash
}

// download fetches the chunks in order, o.Parallel at a time.
func (o *FetchOptions) download(ctx context.Context, root *os.Root, parts string, m *Manifest, order []string, todo map[string][]int, res *FetchResult) error {
	c, err := newCodec(m.ChunkSize)
	if err != nil {
		return err
	}
	defer c.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		firstBad error
		wg       sync.WaitGroup
	)
	jobs := make(chan string)
	for range min(o.Parallel, max(1, len(order))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var in, out []byte // reused: a fetch holds 2 chunks per worker
			for h := range jobs {
				want := m.Chunks[todo[h][0]]
				n, data, err := o.getChunk(ctx, c, parts, want, &in, out)
				if err == nil {
					out = data
					err = writeChunk(root, m, todo[h], data)
				}
				mu.Lock()
				if errors.Is(err, errBadChunk) || errors.Is(err, ErrNotExist) {
					// Keep going: the other chunks are good, and the next
					// run then fetches only the bad or missing ones.
					res.Bad = append(res.Bad, err.Error())
					if firstBad == nil {
						firstBad = err
					}
				} else if err != nil {
					if firstErr == nil {
						firstErr = err
						cancel()
					}
				} else {
					res.Fetched++
					res.FetchedBytes += n
				}
				mu.Unlock()
				if err == nil {
					o.Progress.Add(want.Size)
				}
			}
		}()
	}
	for _, h := range order {
		select {
		case jobs <- h:
			continue
		case <-ctx.Done():
		}
		break
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if firstBad != nil {
		return fmt.Errorf("%w (and %d more bad or missing chunk(s)); nothing installed, the good chunks are kept for the next run", firstBad, len(res.Bad)-1)
	}
	return ctx.Err()
}

// getChunk downloads one chunk into parts/<hash> (continuing a partial
// download), then decompresses and verifies it. A chunk that fails its
// hash is downloaded once more from the start (the partial file may have
// been cut mid-write) before giving up.
func (o *FetchOptions) getChunk(ctx context.Context, c *codec, parts string, want Chunk, in *[]byte, out []byte) (int64, []byte, error) {
	part := filepath.Join(parts, want.Hash)
	var got int64
	for attempt := 0; ; attempt++ {
		n, err := o.continuePart(ctx, part, want)
		got += n
		if err != nil {
			return got, nil, err
		}
		stored, err := readPart(part, want.Stored, in)
		if err != nil {
			return got, nil, err
		}
		data, err := c.open(out, stored, want)
		if err == nil {
			os.Remove(part)
			return got, data, nil
		}
		os.Remove(part)
		if attempt == 1 || !errors.Is(err, errBadChunk) {
			return got, nil, fmt.Errorf("snapshot: %s from %s: %w", chunkName(want.Hash), o.Store, err)
		}
	}
}

func readPart(part string, n int64, buf *[]byte) ([]byte, error) {
	if int64(cap(*buf)) < n {
		*buf = make([]byte, n)
	}
	f, err := os.Open(part)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := (*buf)[:n]
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, err
	}
	return b, nil
}

// continuePart appends the rest of a chunk's stored bytes to part.
func (o *FetchOptions) continuePart(ctx context.Context, part string, want Chunk) (int64, error) {
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	have := st.Size()
	if have > want.Stored { // not what the manifest says: start over
		if err := f.Truncate(0); err != nil {
			return 0, err
		}
		have = 0
	}
	if have == want.Stored {
		return 0, nil
	}
	r, err := o.Store.Get(ctx, chunkName(want.Hash), have)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	// Not synced: a part torn by a crash fails its hash and is fetched
	// again from the start.
	n, err := io.Copy(f, io.LimitReader(r, want.Stored-have))
	if err != nil {
		return n, fmt.Errorf("snapshot: download %s: %w", chunkName(want.Hash), err)
	}
	return n, nil
}

func writeChunk(root *os.Root, m *Manifest, idx []int, data []byte) error {
	for _, i := range idx {
		c := m.Chunks[i]
		f, err := root.OpenFile(filepath.FromSlash(m.Files[c.File].Path), os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, err = f.WriteAt(data, c.Offset)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// finish syncs the files to disk and sets their modes (directories last,
// deepest first, so a read-only directory is filled before it closes).
func finish(root *os.Root, m *Manifest) error {
	for _, f := range m.Files {
		if f.Dir {
			continue
		}
		h, err := root.OpenFile(filepath.FromSlash(f.Path), os.O_RDWR, 0)
		if err != nil {
			return err
		}
		err = h.Sync()
		if cerr := h.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if err := root.Chmod(filepath.FromSlash(f.Path), fs.FileMode(f.Mode)); err != nil {
			return err
		}
	}
	for i := len(m.Files) - 1; i >= 0; i-- {
		if f := m.Files[i]; f.Dir {
			if err := root.Chmod(filepath.FromSlash(f.Path), fs.FileMode(f.Mode)); err != nil {
				return err
			}
		}
	}
	return nil
}

// install renames the staged data dir into place. With force, an existing
// data dir is first moved aside and removed only once the new one is in.
func install(stage, data string, mode fs.FileMode, force bool) error {
	staged := filepath.Join(stage, "data")
	if err := os.Chmod(staged, mode); err != nil {
		return err
	}
	var old string
	if _, err := os.Lstat(data); err == nil {
		empty, err := isEmptyDir(data)
		if err != nil {
			return err
		}
		if !empty && !force {
			return fmt.Errorf("%w (%s)", ErrNotEmpty, data)
		}
		old = filepath.Join(stage, "old-"+time.Now().UTC().Format("20060102T150405.000000000"))
		if err := os.Rename(data, old); err != nil {
			return err
		}
	}
	if err := os.Rename(staged, data); err != nil {
		if old != "" {
			os.Rename(old, data)
		}
		return err
	}
	if d, err := os.Open(filepath.Dir(data)); err == nil {
		d.Sync()
		d.Close()
	}
	return os.RemoveAll(stage)
}

// Verify compares dir with m: every listed file and directory with its
// type, mode and size, every chunk by hash, and nothing extra. It returns
// one line per problem.
func Verify(dir string, m *Manifest) ([]string, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("snapshot: open data dir: %w", err)
	}
	defer root.Close()
	var bad []string
	if st, err := root.Stat("."); err == nil && uint32(st.Mode().Perm()) != m.RootMode {
		bad = append(bad, fmt.Sprintf(".: mode %o, want %o", st.Mode().Perm(), m.RootMode))
	}
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[f.Path] = true
		st, err := root.Lstat(filepath.FromSlash(f.Path))
		switch {
		case err != nil:
			bad = append(bad, f.Path+": missing")
		case f.Dir != st.IsDir() || (!f.Dir && !st.Mode().IsRegular()):
			bad = append(bad, f.Path+": wrong type")
		case uint32(st.Mode().Perm()) != f.Mode:
			bad = append(bad, fmt.Sprintf("%s: mode %o, want %o", f.Path, st.Mode().Perm(), f.Mode))
		case !f.Dir && st.Size() != f.Size:
			bad = append(bad, fmt.Sprintf("%s: %d bytes, want %d", f.Path, st.Size(), f.Size))
		}
	}
	for _, c := range m.Chunks {
		if !inPlace(root, m, c) {
			bad = append(bad, fmt.Sprintf("%s: bytes %d-%d differ (chunk %s)", m.Files[c.File].Path, c.Offset, c.Offset+c.Size-1, c.Hash[:12]))
		}
	}
	err = fs.WalkDir(root.FS(), ".", func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != "." && !listed[path.Clean(p)] {
			bad = append(bad, p+": not in the manifest")
		}
		return nil
	})
	return bad, err
}
