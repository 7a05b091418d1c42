package registry

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/redistest"
)

func TestRedisStoreRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr := needRedis(t)
	prefix := randomPrefix(t)
	cleanupPrefix(t, addr, prefix)
	a := openRedisStore(t, addr, prefix)

	at := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	want := []Entry{
		{Chain: "eth", Name: "a", Removed: true, Updated: at},
		{Chain: "eth", Name: "d", URL: "http://10.0.0.4:8545", Groups: []string{"logs"}, Weight: 2,
			Headers: map[string]string{"Authorization": "Bearer x"}, Parked: true, Updated: at},
	}
	for _, e := range []Entry{want[1], want[0], {Chain: "eth", Name: "gone", URL: "http://x:1"}} {
		if err := a.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Delete(ctx, "eth", "gone"); err != nil {
		t.Fatal(err)
	}
	// A second store (another replica, or this one after a restart) reads
	// the same set.
	b := openRedisStore(t, addr, prefix)
	got, err := b.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Load =\n%+v\nwant\n%+v", got, want)
	}
}

func TestRedisWatchSeesOtherReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr := needRedis(t)
	prefix := randomPrefix(t)
	cleanupPrefix(t, addr, prefix)
	a := openRedisStore(t, addr, prefix)
	b := openRedisStore(t, addr, prefix)
	w := startWatch(t, b)

	if err := a.Put(ctx, Entry{Chain: "eth", Name: "d", URL: "http://10.0.0.4:8545"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B's Watch to see A's Put", func() bool {
		set, ok := w.last()
		return ok && slices.Equal(names(set), []string{"eth/d"})
	})
	if err := a.Put(ctx, Entry{Chain: "eth", Name: "d", URL: "http://10.0.0.4:8545", Parked: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B's Watch to see A's replacement", func() bool {
		set, ok := w.last()
		return ok && len(set) == 1 && set[0].Parked
	})
	if err := a.Delete(ctx, "eth", "d"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B's Watch to see A's Delete", func() bool {
		set, ok := w.last()
		return ok && len(set) == 0
	})
}

func TestRedisWatchStopsOnCancelAndClose(t *testing.T) {
	t.Parallel()
	addr := needRedis(t)
	prefix := randomPrefix(t)
	cleanupPrefix(t, addr, prefix)
	s := openRedisStore(t, addr, prefix)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Watch(ctx, func([]Entry) {}); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Watch did not return after its context ended")
	}

	done = make(chan struct{})
	go func() { s.Watch(context.Background(), func([]Entry) {}); close(done) }()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Watch did not return after Close")
	}
}

// TestRedisGoesAway kills the store's Redis, checks that the store reports
// it and keeps quiet, then restarts Redis with its saved data (as a
// persistent Redis comes back) plus an entry written while the store was
// cut off, with no publish the store could have heard: only the re-sync
// after the reconnect can deliver it. A Put from another client after the
// restart must arrive as well.
func TestRedisGoesAway(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rs := redistest.StartServer(t)
	prefix := randomPrefix(t)
	a := openRedisStore(t, rs.Addr(), prefix)
	w := startWatch(t, a)

	if err := a.Put(ctx, Entry{Chain: "eth", Name: "a", URL: "http://10.0.0.1:8545"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Watch to see eth/a", func() bool {
		set, ok := w.last()
		return ok && slices.Equal(names(set), []string{"eth/a"})
	})
	saveWith(t, rs, prefix, nil)

	callsBeforeKill := len(w.all())
	rs.Kill()
	eventually(t, "Load to fail while Redis is down", func() bool {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := a.Load(lctx)
		return err != nil
	})
	// The entry another replica wrote while this one was cut off: put into
	// the saved data by a Redis on another port, never published here.
	side := redistest.NewServer(t, rs.Dir)
	side.Start()
	saveWith(t, side, prefix, &Entry{Chain: "eth", Name: "b", URL: "http://10.0.0.2:8545"})
	side.Kill()
	callsWhileDown := len(w.all())
	if set, ok := w.last(); !ok || !slices.Equal(names(set), []string{"eth/a"}) {
		t.Fatalf("while Redis was down Watch's last set = %v; want [eth/a]", names(set))
	}

	rs.Start()
	eventually(t, "Watch to re-sync and deliver eth/b", func() bool {
		set, ok := w.last()
		return ok && slices.Equal(names(set), []string{"eth/a", "eth/b"})
	})
	b := openRedisStore(t, rs.Addr(), prefix)
	if err := b.Put(ctx, Entry{Chain: "eth", Name: "c", URL: "http://10.0.0.3:8545"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Watch to deliver eth/c put by another client", func() bool {
		set, ok := w.last()
		return ok && slices.Equal(names(set), []string{"eth/a", "eth/b", "eth/c"})
	})
	// (Before the first Put, an empty set was the truth.)
	for i, set := range w.all()[callsBeforeKill:] {
		if len(set) == 0 {
			t.Fatalf("Watch delivered an empty set after Redis went away (call %d; %d calls before the kill, %d before it came back)",
				callsBeforeKill+i+1, callsBeforeKill, callsWhileDown)
		}
	}
	if got, err := a.Load(ctx); err != nil || len(got) != 3 {
		t.Fatalf("Load after Redis came back = %v, %v; want eth/a, eth/b and eth/c", names(got), err)
	}
}

// saveWith writes e (if any) straight into rs's hash, without publishing,
// and saves rs's data to its dump file.
func saveWith(t *testing.T, rs *redistest.Server, prefix string, e *Entry) {
	t.Helper()
	ctx := context.Background()
	s := openRedisStore(t, rs.Addr(), prefix).(*redisStore)
	defer s.Close()
	if e != nil {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.client.HSet(ctx, s.nodesKey(), e.key(), data).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.client.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
}
