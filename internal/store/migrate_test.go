package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const testURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// testStore opens a store on a fresh schema of the shared test database,
// dropped at cleanup.
func testStore(t *testing.T) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testURL)
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable at 127.0.0.1:5432 (db test, trust auth): %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "u_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, Options{URL: testURL, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Close()
		c, err := pgx.Connect(context.Background(), testURL)
		if err == nil {
			_, err = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return st
}

// TestMigrateOnceAndIdempotent: the first run applies every migration,
// the second none; the version is the highest file's.
func TestMigrateOnceAndIdempotent(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	ms, err := loadMigrations()
	if err != nil || len(ms) == 0 {
		t.Fatalf("migrations: %v (%d)", err, len(ms))
	}
	applied, err := st.Migrate(ctx)
	if err != nil || len(applied) != len(ms) {
		t.Fatalf("first migrate: %v, applied %v", err, applied)
	}
	applied, err = st.Migrate(ctx)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate: %v, applied %v", err, applied)
	}
	if v, err := st.Version(ctx); err != nil || v != ms[len(ms)-1].version {
		t.Fatalf("version %d, %v", v, err)
	}
	if s, err := st.Stat(ctx); err != nil || !s.Empty {
		t.Fatalf("stat of a new store: %+v, %v", s, err)
	}
}

// TestEnvelopeRoundTrip: an answer split into envelope and result is
// rebuilt byte for byte for another id.
func TestEnvelopeRoundTrip(t *testing.T) {
	body := []byte("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"a\":[1, 2]}}\n")
	e, ok := envelopeOf(body)
	if !ok {
		t.Fatal("no envelope")
	}
	got := e.Wrap(nil, []byte(`"x"`), []byte(`{"a":[1, 2]}`))
	if string(got) != "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":{\"a\":[1, 2]}}\n" {
		t.Fatalf("got %q", got)
	}
	d, ok := decodeEnvelope(e.encode())
	if !ok || string(d.Wrap(nil, []byte("7"), []byte(`{"a":[1, 2]}`))) != string(body) {
		t.Fatal("envelope does not survive encoding")
	}
}
