package registry

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func openFileStore(t *testing.T, path string) Store {
	t.Helper()
	s, err := Open(context.Background(), Config{File: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestFileStoreSurvivesRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rpcgate.yaml.state.json")
	at := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)

	s := openFileStore(t, path)
	if got, err := s.Load(ctx); err != nil || len(got) != 0 {
		t.Fatalf("missing file: Load = %v, %v; want empty, nil", got, err)
	}
	want := []Entry{
		{Chain: "eth", Name: "a", Removed: true, Updated: at},
		{Chain: "eth", Name: "d", URL: "http://10.0.0.4:8545", WS: "ws://10.0.0.4:8546", Groups: []string{"default", "logs"},
			Weight: 2, Workers: 8, Headers: map[string]string{"Authorization": "Bearer x"}, Parked: true, Updated: at},
		{Chain: "op", Name: "b", URL: "https://op.example/rpc", Updated: at},
	}
	// Put out of order: Load sorts by chain, then name.
	for _, i := range []int{2, 1, 0} {
		if err := s.Put(ctx, want[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, Entry{Chain: "eth", Name: "gone", URL: "http://10.0.0.9:8545"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "eth", "gone"); err != nil {
		t.Fatal(err)
	}
	ev := Event{Chain: "eth", Node: "a", Up: true, At: time.Now().UTC().Add(-time.Minute), Reason: "probe ok"}
	if err := s.Record(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	r := openFileStore(t, path) // the restart
	got, err := r.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen Load =\n%+v\nwant\n%+v", got, want)
	}
	evs, err := r.Events(ctx, "eth", time.Time{})
	if err != nil || len(evs) != 1 || evs[0] != ev {
		t.Fatalf("after reopen Events = %+v, %v; want [%+v]", evs, err, ev)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode = %v, %v; want 0600 (entries may hold node credentials)", fi.Mode(), err)
	}
}

func TestFileStoreWriteLeavesNoTempFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	s := openFileStore(t, path)
	for i, name := range []string{"a", "b", "c"} {
		if err := s.Put(ctx, Entry{Chain: "eth", Name: name, URL: "http://127.0.0.1:1"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Record(ctx, Event{Chain: "eth", Node: name, Up: i%2 == 0}); err != nil {
			t.Fatal(err)
		}
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Name() != "state.json" {
		var got []string
		for _, f := range files {
			got = append(got, f.Name())
		}
		t.Fatalf("directory holds %v; want only state.json", got)
	}
}

func TestFileStoreWriteFailureKeepsState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "sub")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s := openFileStore(t, filepath.Join(dir, "state.json"))
	if err := s.Put(ctx, Entry{Chain: "eth", Name: "a", URL: "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil { // the temp file cannot be created now
		t.Fatal(err)
	}
	if err := s.Put(ctx, Entry{Chain: "eth", Name: "b", URL: "http://127.0.0.1:2"}); err == nil {
		t.Fatal("Put into a missing directory succeeded")
	}
	got, _ := s.Load(ctx)
	if n := names(got); !reflect.DeepEqual(n, []string{"eth/a"}) {
		t.Fatalf("after a failed write Load = %v; want [eth/a] (memory must not run ahead of the file)", n)
	}
}

func TestFileStoreCorruptFile(t *testing.T) {
	t.Parallel()
	for name, content := range map[string]string{
		"truncated":   `{"version":1,"entries":[{"chain":"eth"`,
		"not json":    "hello",
		"bad entry":   `{"version":1,"entries":[{"chain":"eth","name":""}]}`,
		"new version": `{"version":99,"entries":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(context.Background(), Config{File: path}, nil)
			if err == nil {
				s.Close()
				t.Fatal("Open of a corrupt state file succeeded")
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file %s", err, path)
			}
		})
	}
}

func TestFileStoreWatchSeesOwnChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openFileStore(t, filepath.Join(t.TempDir(), "state.json"))
	w := startWatch(t, s)
	// Watch may not have registered yet, so repeat the (idempotent) change
	// until it is seen.
	eventually(t, "watch to see eth/a", func() bool {
		if err := s.Put(ctx, Entry{Chain: "eth", Name: "a", URL: "http://127.0.0.1:1"}); err != nil {
			t.Fatal(err)
		}
		set, ok := w.last()
		return ok && reflect.DeepEqual(names(set), []string{"eth/a"})
	})
	if err := s.Delete(ctx, "eth", "a"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "watch to see the delete", func() bool {
		set, ok := w.last()
		return ok && len(set) == 0
	})
}

func TestOpenWithoutBackend(t *testing.T) {
	t.Parallel()
	if _, err := Open(context.Background(), Config{}, nil); !errors.Is(err, ErrNoBackend) {
		t.Fatalf("Open(Config{}) = %v; want ErrNoBackend", err)
	}
}

func TestPutRejectsInvalidEntries(t *testing.T) {
	t.Parallel()
	s := openFileStore(t, filepath.Join(t.TempDir(), "state.json"))
	for _, e := range []Entry{
		{Name: "a", URL: "http://x:1"},
		{Chain: "eth", URL: "http://x:1"},
		{Chain: "e/th", Name: "a"},
		{Chain: "eth", Name: "a", URL: "ftp://x"},
		{Chain: "eth", Name: "a", URL: "http://x:1", WS: "http://x:2"},
		{Chain: "eth", Name: "a", URL: "http://x:1", Weight: -1},
	} {
		if err := s.Put(context.Background(), e); !errors.Is(err, ErrInvalidEntry) {
			t.Errorf("Put(%+v) = %v; want ErrInvalidEntry", e, err)
		}
	}
}
