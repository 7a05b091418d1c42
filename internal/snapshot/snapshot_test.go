package snapshot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCreateFetchRoundTrip(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	data, store, out := filepath.Join(tmp, "data"), NewDir(filepath.Join(tmp, "store")), filepath.Join(tmp, "out")
	makeData(t, data)
	k := newKey(t)
	cs := countingStore(store)
	res := create(t, data, cs, k, 300)
	// 6+3+1+1+4 chunks; the 4 zero chunks share one hash.
	if len(res.Manifest.Chunks) != 15 || res.Uploaded != 12 || cs.chunkPuts() != 12 {
		t.Fatalf("chunks %d uploaded %d puts %d, want 15, 12, 12", len(res.Manifest.Chunks), res.Uploaded, cs.chunkPuts())
	}
	fr, err := Fetch(context.Background(), FetchOptions{Store: store, Data: out, Pub: pubOf(k), Chain: "eth"})
	must(t, err)
	sameTree(t, data, out)
	if fr.Manifest.Block != 300 || fr.Manifest.ChainID != 1337 || fr.Fetched != 12 || fr.Present != 0 {
		t.Fatalf("fetch result %+v", fr)
	}
	if _, err := os.Stat(filepath.Join(tmp, ".out.snapshot-partial")); !os.IsNotExist(err) {
		t.Fatalf("staging dir left behind: %v", err)
	}
	// --verify-only passes, then sees one flipped byte.
	vr, err := Fetch(context.Background(), FetchOptions{Store: store, Data: out, Pub: pubOf(k), VerifyOnly: true})
	if err != nil || len(vr.Bad) != 0 {
		t.Fatalf("verify-only on a good dir: %v %v", err, vr.Bad)
	}
	flipByte(t, filepath.Join(out, "chaindata", "000001.ldb"), 2*testChunk+7)
	vr, err = Fetch(context.Background(), FetchOptions{Store: store, Data: out, Pub: pubOf(k), VerifyOnly: true})
	if !errors.Is(err, ErrMismatch) || len(vr.Bad) != 1 || !strings.Contains(vr.Bad[0], "000001.ldb: bytes 8192-12287") {
		t.Fatalf("verify-only on a flipped byte: %v %q", err, vr.Bad)
	}
}

func TestFetchRefusesAnotherKeyAndInstallsNothing(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	data, store, out := filepath.Join(tmp, "data"), NewDir(filepath.Join(tmp, "store")), filepath.Join(tmp, "out")
	makeData(t, data)
	create(t, data, store, newKey(t), 1)
	cs := countingStore(store)
	_, err := Fetch(context.Background(), FetchOptions{Store: cs, Data: out, Pub: pubOf(newKey(t))})
	if !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "signed by another key") {
		t.Fatalf("err = %v, want ErrSignature", err)
	}
	entries, _ := os.ReadDir(tmp)
	if len(entries) != 2 || cs.chunkGets() != 0 {
		t.Fatalf("something was installed or downloaded: %v, %d chunk gets", entries, cs.chunkGets())
	}
}

func TestFetchRefusesNonEmptyDirWithoutForce(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	data, store, out := filepath.Join(tmp, "data"), NewDir(filepath.Join(tmp, "store")), filepath.Join(tmp, "out")
	makeData(t, data)
	k := newKey(t)
	create(t, data, store, k, 1)
	must(t, os.MkdirAll(out, 0o755))
	must(t, os.WriteFile(filepath.Join(out, "old"), []byte("old"), 0o644))
	cs := countingStore(store)
	if _, err := Fetch(context.Background(), FetchOptions{Store: cs, Data: out, Pub: pubOf(k)}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("err = %v, want ErrNotEmpty", err)
	}
	if cs.chunkGets() != 0 {
		t.Fatal("downloaded before refusing")
	}
	_, err := Fetch(context.Background(), FetchOptions{Store: store, Data: out, Pub: pubOf(k), Force: true})
	must(t, err)
	sameTree(t, data, out)
}

// A flipped byte in one stored chunk is detected; the other chunks are
// kept, and once the source is repaired that chunk alone is fetched.
func TestTamperedSourceChunkIsTheOnlyOneRefetched(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	data, sdir, out := filepath.Join(tmp, "data"), filepath.Join(tmp, "store"), filepath.Join(tmp, "out")
	makeData(t, data)
	k := newKey(t)
	res := create(t, data, NewDir(sdir), k, 1)
	victim := filepath.Join(sdir, filepath.FromSlash(chunkName(res.Manifest.Chunks[2].Hash)))
	good := fileBytes(t, victim)
	flipByte(t, victim, int64(len(good)/2))
	cs := countingStore(NewDir(sdir))
	fr, err := Fetch(context.Background(), FetchOptions{Store: cs, Data: out, Pub: pubOf(k)})
	if err == nil || len(fr.Bad) != 1 || !strings.Contains(fr.Bad[0], res.Manifest.Chunks[2].Hash) {
		t.Fatalf("tampered chunk not detected: %v %v", err, fr.Bad)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("a data dir was installed from a bad snapshot")
	}
	must(t, os.WriteFile(victim, good, 0o644))
	cs = countingStore(NewDir(sdir))
	fr, err = Fetch(context.Background(), FetchOptions{Store: cs, Data: out, Pub: pubOf(k)})
	must(t, err)
	if fr.Fetched != 1 || cs.chunkGets() != 1 || fr.Present != 14 {
		t.Fatalf("after repair: fetched %d, gets %d, present %d; want 1, 1, 14", fr.Fetched, cs.chunkGets(), fr.Present)
	}
	sameTree(t, data, out)
}

// A byte flipped in the staged copy of an interrupted fetch is found by
// the next run, which fetches that chunk and the missing one only.
func TestResumeRefetchesMissingAndDamagedChunksOnly(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	data, sdir, out := filepath.Join(tmp, "data"), filepath.Join(tmp, "store"), filepath.Join(tmp, "out")
	makeData(t, data)
	k := newKey(t)
	res := create(t, data, NewDir(sdir), k, 1)
	missing := filepath.Join(sdir, filepath.FromSlash(chunkName(res.Manifest.Chunks[0].Hash)))
	saved := fileBytes(t, missing)
	must(t, os.Remove(missing))
	if _, err := Fetch(context.Background(), FetchOptions{Store: NewDir(sdir), Data: out, Pub: pubOf(k)}); !errors.Is(err, ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
	must(t, os.WriteFile(missing, saved, 0o644))
	staged := filepath.Join(tmp, ".out.snapshot-partial", "data", "chaindata", "ancient", "headers.cdat")
	flipByte(t, staged, testChunk+1) // the file's second chunk
	cs := countingStore(NewDir(sdir))
	fr, err := Fetch(context.Background(), FetchOptions{Store: cs, Data: out, Pub: pubOf(k), Parallel: 1})
	must(t, err)
	if fr.Fetched != 2 || cs.chunkGets() != 2 || fr.Present != 13 {
		t.Fatalf("fetched %d gets %d present %d, want 2, 2, 13", fr.Fetched, cs.chunkGets(), fr.Present)
	}
	sameTree(t, data, out)
}

func TestDedupSecondSnapshotUploadsOnlyChangedChunks(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	data, store := filepath.Join(tmp, "data"), NewDir(filepath.Join(tmp, "store"))
	makeData(t, data)
	k := newKey(t)
	create(t, data, store, k, 1)
	// Change one chunk in place and append to another file.
	flipByte(t, filepath.Join(data, "chaindata", "000001.ldb"), 10)
	f, err := os.OpenFile(filepath.Join(data, "chaindata", "CURRENT"), os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	f.WriteString("more")
	f.Close()
	cs := countingStore(store)
	res := create(t, data, cs, k, 11)
	if res.Uploaded != 2 || cs.chunkPuts() != 2 || res.Reused != 10 {
		t.Fatalf("uploaded %d (puts %d), reused %d; want 2, 2, 10", res.Uploaded, cs.chunkPuts(), res.Reused)
	}
	out := filepath.Join(tmp, "out")
	fr, err := Fetch(context.Background(), FetchOptions{Store: store, Data: out, Pub: pubOf(k), Chain: "eth"})
	must(t, err)
	if fr.Manifest.Block != 11 {
		t.Fatalf("latest.json points at block %d", fr.Manifest.Block)
	}
	sameTree(t, data, out)
}

func TestPruneKeepsNewestAndTheirChunks(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	data, sdir := filepath.Join(tmp, "data"), filepath.Join(tmp, "store")
	makeData(t, data)
	k := newKey(t)
	store := NewDir(sdir)
	var names []string
	for i := range 3 {
		flipByte(t, filepath.Join(data, "keystore", "key"), int64(i))
		res, err := Create(context.Background(), CreateOptions{Data: data, Store: store, Key: k, Chain: "eth", Block: uint64(i),
			ChunkSize: testChunk, Now: func() time.Time { return time.Unix(int64(1000+i), 0) }})
		must(t, err)
		names = append(names, res.Name)
	}
	pr, err := Prune(context.Background(), store, 1)
	must(t, err)
	// Each older snapshot had one keystore chunk of its own.
	if pr.Manifests != 2 || pr.Chunks != 2 || len(pr.Kept) != 1 || pr.Kept[0] != names[2] {
		t.Fatalf("prune %+v, want 2 manifests, 2 chunks, kept %s", pr, names[2])
	}
	out := filepath.Join(tmp, "out")
	_, err = Fetch(context.Background(), FetchOptions{Store: store, Data: out, Pub: pubOf(k)})
	must(t, err)
	sameTree(t, data, out)
}
