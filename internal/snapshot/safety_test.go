package snapshot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func signedWith(t *testing.T, k []byte, files []File, chunks []Chunk) []byte {
	t.Helper()
	m := &Manifest{Version: FormatVersion, Chain: "eth", ChunkSize: testChunk, Files: files, Chunks: chunks}
	raw, err := Sign(m, k)
	must(t, err)
	return raw
}

// Manifest paths must never lead outside DIR, even in a manifest the
// configured key signed.
func TestManifestPathsNeverEscape(t *testing.T) {
	t.Parallel()
	k := newKey(t)
	hash := strings.Repeat("ab", 32)
	for _, p := range []string{"/etc/passwd", "../x", "a/../../x", "a/..", "./a", "a/./b", "a//b", "a/", "", ".", "..", `a\..\..\x`, "a\x00b"} {
		files := []File{{Path: "a", Dir: true, Mode: 0o755}, {Path: p, Mode: 0o644, Size: 1}}
		raw := signedWith(t, k, files, []Chunk{{Hash: hash, File: 1, Size: 1, Stored: 10}})
		if _, err := Open(raw, pubOf(k)); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
	// A file "inside" a regular file, and a file before its directory.
	for _, files := range [][]File{
		{{Path: "a", Mode: 0o644}, {Path: "a/b", Mode: 0o644}},
		{{Path: "a/b", Mode: 0o644}, {Path: "a", Dir: true, Mode: 0o755}},
		{{Path: "a", Mode: 0o4755}},
	} {
		if _, err := Open(signedWith(t, k, files, nil), pubOf(k)); err == nil {
			t.Errorf("files %+v accepted", files)
		}
	}
	good := []File{{Path: "a", Dir: true, Mode: 0o755}, {Path: "a/b", Mode: 0o644, Size: 1}}
	if _, err := Open(signedWith(t, k, good, []Chunk{{Hash: hash, File: 1, Size: 1, Stored: 10}}), pubOf(k)); err != nil {
		t.Fatalf("a valid manifest refused: %v", err)
	}
}

func TestCreateRefusesSymlinks(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	makeData(t, data)
	must(t, os.Symlink("/etc", filepath.Join(data, "chaindata", "escape")))
	_, err := Create(context.Background(), CreateOptions{Data: data, Store: NewDir(filepath.Join(tmp, "store")), Key: newKey(t), Chain: "eth"})
	if err == nil || !strings.Contains(err.Error(), "chaindata/escape") || !strings.Contains(err.Error(), "only directories and regular files") {
		t.Fatalf("err = %v", err)
	}
}

// A symlink planted in the staging dir of an interrupted fetch must not
// make the fetch write outside it.
func TestFetchDoesNotFollowPlantedSymlink(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	data, store, out, outside := filepath.Join(tmp, "data"), NewDir(filepath.Join(tmp, "store")), filepath.Join(tmp, "out"), filepath.Join(tmp, "outside")
	makeData(t, data)
	must(t, os.Mkdir(outside, 0o755))
	k := newKey(t)
	res := create(t, data, store, k, 1)
	stage := filepath.Join(tmp, ".out.snapshot-partial")
	must(t, os.MkdirAll(filepath.Join(stage, "data"), 0o700))
	must(t, os.MkdirAll(filepath.Join(stage, "parts"), 0o700))
	must(t, os.WriteFile(filepath.Join(stage, "manifest"), []byte(res.Name), 0o600))
	must(t, os.Symlink(outside, filepath.Join(stage, "data", "chaindata")))
	if _, err := Fetch(context.Background(), FetchOptions{Store: store, Data: out, Pub: pubOf(k)}); err == nil {
		t.Fatal("fetch followed a symlink in its staging dir")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("wrote outside the data dir: %v", entries)
	}
}

func TestHandlerServesRangesAndNothingOutside(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "store")
	must(t, os.MkdirAll(filepath.Join(dir, "chunks"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "chunks", "x.zst"), []byte("0123456789"), 0o644))
	must(t, os.WriteFile(filepath.Join(tmp, "secret"), []byte("secret"), 0o644))
	must(t, os.Symlink(filepath.Join(tmp, "secret"), filepath.Join(dir, "chunks", "link.zst")))
	srv := httptest.NewServer(http.StripPrefix("", Handler(dir, "/snapshots/")))
	defer srv.Close()
	get := func(path, rng string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b := make([]byte, 100)
		n, _ := resp.Body.Read(b)
		return resp.StatusCode, string(b[:n])
	}
	if code, body := get("/snapshots/chunks/x.zst", "bytes=4-"); code != http.StatusPartialContent || body != "456789" {
		t.Fatalf("range: %d %q", code, body)
	}
	for _, p := range []string{"/snapshots/../secret", "/snapshots/%2e%2e/secret", "/snapshots/chunks/", "/snapshots/chunks/link.zst", "/snapshots//etc/passwd"} {
		if code, body := get(p, ""); code != http.StatusNotFound || strings.Contains(body, "secret") {
			t.Errorf("%s: %d %q", p, code, body)
		}
	}
}

// A connection cut in the middle of a chunk leaves the part on disk; the
// next fetch asks for the rest with a range request.
func TestHTTPResumeContinuesAPartialChunk(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	data, sdir, out := filepath.Join(tmp, "data"), filepath.Join(tmp, "store"), filepath.Join(tmp, "out")
	makeData(t, data)
	k := newKey(t)
	res := create(t, data, NewDir(sdir), k, 1)
	victim := "/" + chunkName(res.Manifest.Chunks[0].Hash)
	half := res.Manifest.Chunks[0].Stored / 2
	var (
		mu     sync.Mutex
		cut    bool
		ranges []string
		gets   int
	)
	files := Handler(sdir, "/")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		first := r.URL.Path == victim && !cut
		if first {
			cut = true
		}
		if strings.HasPrefix(r.URL.Path, "/chunks/") {
			gets++
		}
		if r.URL.Path == victim && r.Header.Get("Range") != "" {
			ranges = append(ranges, r.Header.Get("Range"))
		}
		mu.Unlock()
		if first {
			b, _ := os.ReadFile(filepath.Join(sdir, filepath.FromSlash(victim)))
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b[:half])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // cut the connection mid-body
		}
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	h, err := NewHTTP(srv.URL, srv.Client())
	must(t, err)
	_, err = Fetch(context.Background(), FetchOptions{Store: h, Data: out, Pub: pubOf(k), Parallel: 1})
	if err == nil {
		t.Fatal("a cut connection went unnoticed")
	}
	mu.Lock()
	gets = 0
	mu.Unlock()
	fr, err := Fetch(context.Background(), FetchOptions{Store: h, Data: out, Pub: pubOf(k), Parallel: 1})
	must(t, err)
	sameTree(t, data, out)
	mu.Lock()
	defer mu.Unlock()
	if len(ranges) != 1 || ranges[0] != "bytes="+strconv.FormatInt(half, 10)+"-" {
		t.Fatalf("range requests %q, want one from byte %d", ranges, half)
	}
	// The zero chunks are already in place: a sized, empty staged file holds them.
	if gets != fr.Fetched || fr.Present != 4 || fr.Fetched != 11 {
		t.Fatalf("second run: %d gets, fetched %d, present %d", gets, fr.Fetched, fr.Present)
	}
}

// Secrets listed with --exclude stay out of the snapshot.
func TestCreateExcludesSecrets(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	data, store, out := filepath.Join(tmp, "data"), NewDir(filepath.Join(tmp, "store")), filepath.Join(tmp, "out")
	makeData(t, data)
	must(t, os.WriteFile(filepath.Join(data, "jwt.hex"), []byte("secret"), 0o600))
	k := newKey(t)
	res, err := Create(context.Background(), CreateOptions{Data: data, Store: store, Key: k, Chain: "eth", ChunkSize: testChunk,
		Exclude: []string{"keystore", "*.hex"}})
	must(t, err)
	for _, f := range res.Manifest.Files {
		if strings.HasPrefix(f.Path, "keystore") || f.Path == "jwt.hex" {
			t.Fatalf("%s was published", f.Path)
		}
	}
	_, err = Fetch(context.Background(), FetchOptions{Store: store, Data: out, Pub: pubOf(k)})
	must(t, err)
	must(t, os.RemoveAll(filepath.Join(data, "keystore")))
	must(t, os.Remove(filepath.Join(data, "jwt.hex")))
	sameTree(t, data, out)
}
