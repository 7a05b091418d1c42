package tenant

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"
)

func TestHashSecret(t *testing.T) {
	t.Parallel()
	h := HashSecret("abc")
	if h != "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("HashSecret(abc) = %s", h)
	}
	d, err := ParseHash("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")
	if err != nil || d != hashString("abc") {
		t.Fatalf("ParseHash upper case: %x, %v", d, err)
	}
	if a, b := NewSecret(), NewSecret(); len(a) != 64 || a == b {
		t.Fatalf("NewSecret: %q, %q", a, b)
	}
	long := string(make([]byte, 300))
	if hashString(long) != ([32]byte)(mustParse(t, HashSecret(long))) {
		t.Fatal("hashString disagrees with HashSecret beyond the stack buffer")
	}
}

func mustParse(t *testing.T, h string) digest {
	d, err := ParseHash(h)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// testKeyStore runs the behaviour every KeyStore shares against a and b,
// two stores on the same backend (for memory, the same store).
func testKeyStore(t *testing.T, a, b KeyStore) {
	ctx := context.Background()
	w := startKeyWatch(t, b)
	created := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	k := StoredKey{Name: "erin", Hash: HashSecret("erin-secret-000000001"), Plan: "pro", Metrics: true, Created: created}

	if err := a.Put(ctx, StoredKey{Name: "bad name", Hash: k.Hash, Plan: "pro"}); err == nil {
		t.Fatal("Put accepted an invalid name")
	}
	if err := a.Put(ctx, StoredKey{Name: "x", Hash: "sha256:zz", Plan: "pro"}); err == nil {
		t.Fatal("Put accepted an invalid hash")
	}
	if err := a.(KeyCreator).Create(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := a.(KeyCreator).Create(ctx, k); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("second Create: %v, want ErrKeyExists", err)
	}
	eventually(t, "b's Watch to see a's Create", func() bool {
		set, ok := w.last()
		return ok && len(set) == 1 && reflect.DeepEqual(set[0], k)
	})
	k2 := k
	k2.Disabled = true
	if err := a.Put(ctx, k2); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b's Watch to see a's Put", func() bool {
		set, ok := w.last()
		return ok && len(set) == 1 && set[0].Disabled
	})
	if err := a.Put(ctx, StoredKey{Name: "alpha", Hash: HashSecret("alpha-secret-00000001"), Plan: "free"}); err != nil {
		t.Fatal(err)
	}
	got, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "alpha" || got[1].Name != "erin" {
		t.Fatalf("List = %+v, want alpha then erin", got)
	}
	if err := a.Delete(ctx, "erin"); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, "never-existed"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	eventually(t, "b's Watch to see a's Delete", func() bool {
		set, ok := w.last()
		return ok && len(set) == 1 && set[0].Name == "alpha"
	})
}

func TestMemoryKeys(t *testing.T) {
	t.Parallel()
	ks := NewMemoryKeys()
	testKeyStore(t, ks, ks)
}

func TestRedisKeys(t *testing.T) {
	t.Parallel()
	c := needRedis(t)
	prefix := randomPrefix(t, c)
	a := NewRedisKeys(c, prefix, testLogger(t))
	b := NewRedisKeys(c, prefix, testLogger(t))
	testKeyStore(t, a, b)
	// The layout other tools may read: hash <prefix>keys, field = name.
	if n, err := c.HLen(context.Background(), prefix+"keys").Result(); err != nil || n != 1 {
		t.Fatalf("HLEN %skeys = %d, %v; want 1", prefix, n, err)
	}
}

func TestRedisKeysSkipsCorruptEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := needRedis(t)
	prefix := randomPrefix(t, c)
	ks := NewRedisKeys(c, prefix, testLogger(t))
	c.HSet(ctx, prefix+"keys", "junk", "{not json", "other", `{"name":"mismatch","hash":"`+HashSecret("s")+`","plan":"pro"}`)
	if err := ks.Put(ctx, StoredKey{Name: "ok", Hash: HashSecret("s"), Plan: "pro"}); err != nil {
		t.Fatal(err)
	}
	got, err := ks.List(ctx)
	if err != nil || len(got) != 1 || got[0].Name != "ok" {
		t.Fatalf("List = %+v, %v; want only ok", got, err)
	}
}

// A key added through one replica's store is served by another replica's
// Resolver, and disabling it there takes effect too.
func TestResolverFollowsRedisKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := needRedis(t)
	prefix := randomPrefix(t, c)
	writer := NewRedisKeys(c, prefix, testLogger(t))
	r := newTestResolver(t, testConfig(), NewRedisKeys(c, prefix, testLogger(t)))
	runResolver(t, r)

	const secret = "frank-secret-000000001"
	resolve := func() error {
		_, err := r.Resolve(HTTP(httptest.NewRequest(http.MethodPost, "/eth", nil)), "eth", "", secret)
		return err
	}
	if err := resolve(); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("before Put: %v, want ErrUnknownKey", err)
	}
	k := StoredKey{Name: "frank", Hash: HashSecret(secret), Plan: "pro"}
	if err := writer.Put(ctx, k); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the resolver to accept the new key", func() bool { return resolve() == nil })
	k.Disabled = true
	if err := writer.Put(ctx, k); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the resolver to refuse the disabled key", func() bool { return errors.Is(resolve(), ErrKeyDisabled) })
	// A run-time key whose plan is not configured is refused, not served
	// under some other plan.
	if err := writer.Put(ctx, StoredKey{Name: "frank", Hash: HashSecret(secret), Plan: "gone"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the resolver to refuse a key of an unknown plan", func() bool { return errors.Is(resolve(), ErrKeyDisabled) })
}

// A run-time key cannot take over a config key's name or secret.
func TestConfigKeysWinOverRuntimeKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ks := NewMemoryKeys()
	if err := ks.Put(ctx, StoredKey{Name: "alice", Hash: HashSecret("runtime-alice-000001"), Plan: "free"}); err != nil {
		t.Fatal(err)
	}
	if err := ks.Put(ctx, StoredKey{Name: "mallory", Hash: HashSecret(bobSecret), Plan: "pro"}); err != nil {
		t.Fatal(err)
	}
	r := newTestResolver(t, testConfig(), ks)
	req := httptest.NewRequest(http.MethodPost, "/eth", nil)
	if _, err := r.Resolve(HTTP(req), "eth", "", "runtime-alice-000001"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("runtime key named like a config key: %v, want ErrUnknownKey", err)
	}
	id, err := r.Resolve(HTTP(req), "eth", "", bobSecret)
	if err != nil || id.Key != "bob" {
		t.Fatalf("config secret reused at run time: %+v, %v; want bob", id, err)
	}
}
