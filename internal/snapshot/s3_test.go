package snapshot

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// An in-process S3 server speaking the real protocol (gofakes3, in
// memory), reached through minio-go; the server counts chunk uploads.
func TestS3CreateFetchDedupPrune(t *testing.T) {
	t.Parallel()
	backend := s3mem.New()
	must(t, backend.CreateBucket("snaps"))
	var chunkPuts, rangeGets atomic.Int64
	fake := gofakes3.New(backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/chunks/") {
			chunkPuts.Add(1)
		}
		if r.Method == http.MethodGet && r.Header.Get("Range") != "" {
			rangeGets.Add(1)
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	open := func() *S3 {
		s, err := NewS3("s3://snaps/mainnet/v1", srv.URL, credentials.NewStaticV4("AKID", "SECRET", ""), "us-east-1")
		must(t, err)
		return s
	}
	tmp := t.TempDir()
	data, out := filepath.Join(tmp, "data"), filepath.Join(tmp, "out")
	makeData(t, data)
	k := newKey(t)
	res := create(t, data, open(), k, 300)
	if res.Uploaded != 12 || chunkPuts.Load() != 12 {
		t.Fatalf("uploaded %d, server saw %d chunk PUTs; want 12", res.Uploaded, chunkPuts.Load())
	}
	fr, err := Fetch(context.Background(), FetchOptions{Store: open(), Data: out, Pub: pubOf(k), Chain: "eth"})
	must(t, err)
	sameTree(t, data, out)
	if fr.Fetched != 12 {
		t.Fatalf("fetched %d", fr.Fetched)
	}
	// A range read continues a partial download.
	name := chunkName(res.Manifest.Chunks[0].Hash)
	r, err := open().Get(context.Background(), name, 0)
	must(t, err)
	whole, _ := io.ReadAll(r)
	r.Close()
	r, err = open().Get(context.Background(), name, 10)
	must(t, err)
	tail, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(tail, whole[10:]) || rangeGets.Load() != 1 {
		t.Fatalf("range read: %d bytes, want %d; range GETs %d", len(tail), len(whole)-10, rangeGets.Load())
	}
	// Dedup: one changed chunk is the only upload of the second snapshot.
	flipByte(t, filepath.Join(data, "keystore", "key"), 3)
	before := chunkPuts.Load()
	res2 := create(t, data, open(), k, 310)
	if res2.Uploaded != 1 || chunkPuts.Load()-before != 1 || res2.Reused != 11 {
		t.Fatalf("second snapshot uploaded %d (server %d), reused %d; want 1, 1, 11", res2.Uploaded, chunkPuts.Load()-before, res2.Reused)
	}
	pr, err := Prune(context.Background(), open(), 1)
	must(t, err)
	if pr.Manifests != 1 || pr.Chunks != 1 {
		t.Fatalf("prune %+v, want 1 manifest and 1 chunk", pr)
	}
	must(t, os.RemoveAll(out))
	fr, err = Fetch(context.Background(), FetchOptions{Store: open(), Data: out, Pub: pubOf(k)})
	must(t, err)
	if fr.Manifest.Block != 310 {
		t.Fatalf("latest is block %d", fr.Manifest.Block)
	}
	sameTree(t, data, out)
}
