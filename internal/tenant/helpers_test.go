package tenant

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/redistest"

	"github.com/redis/go-redis/v9"

	"github.com/rpcgate/rpcgate/internal/config"
)

// Secrets of the test config's keys.
const (
	aliceSecret = "alice-secret-000000000001"
	bobSecret   = "bob-secret-00000000000002"
	carolSecret = "carol-secret-0000000000003"
	daveSecret  = "dave-secret-00000000000004"
)

// testConfig has plans of every kind, keys given as secret and as hash, a
// disabled key, and trusted proxies.
func testConfig() *config.Config {
	return &config.Config{
		Chains: map[string]*config.Chain{"eth": {ChainID: 1}, "base": {ChainID: 8453}},
		Plans: map[string]*config.Plan{
			"anonymous": {Priority: "low", Rate: &config.Rate{PerSecond: 5}},
			"free":      {Priority: "low", Chains: []string{"eth"}},
			"pro":       {Priority: "high", PriorityHeader: true, Methods: config.MethodPolicy{Deny: []string{"debug_*"}}},
			"partner":   {Priority: "high", Methods: config.MethodPolicy{Allow: []string{"eth_*", "net_version"}, Deny: []string{"eth_sendRawTransaction"}}},
		},
		Keys: []*config.Key{
			{Name: "alice", Key: aliceSecret, Plan: "pro", Metrics: true},
			{Name: "bob", Hash: HashSecret(bobSecret), Plan: "free"},
			{Name: "carol", Key: carolSecret, Plan: "pro", Disabled: true},
			{Name: "dave", Key: daveSecret, Plan: "partner"},
		},
		Tenancy: config.Tenancy{
			TrustedProxies: []string{"10.0.0.0/8", "2001:db8::/32", "192.168.1.1"},
			Costs:          map[string]int{"eth_call": 3, "eth_getBalance": 0},
		},
	}
}

func newTestResolver(t testing.TB, cfg *config.Config, ks KeyStore) *Resolver {
	t.Helper()
	r, err := NewResolver(cfg, ks)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// needRedis returns a client on the shared Redis, failing (never skipping)
// the test when it is not there.
func needRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: redistest.Need(t)})
	t.Cleanup(func() { c.Close() })
	return c
}

// randomPrefix returns a fresh key prefix whose keys are deleted when the
// test ends.
func randomPrefix(t *testing.T, c redis.UniversalClient) string {
	return redistest.Prefix(t, redistest.Addr())
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// keyWatcher runs KeyStore.Watch and keeps the last set delivered.
type keyWatcher struct {
	mu   sync.Mutex
	set  []StoredKey
	seen bool
}

func startKeyWatch(t *testing.T, ks KeyStore) *keyWatcher {
	w := &keyWatcher{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ks.Watch(ctx, func(set []StoredKey) {
			w.mu.Lock()
			w.set, w.seen = set, true
			w.mu.Unlock()
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

func (w *keyWatcher) last() ([]StoredKey, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.set, w.seen
}

// runResolver runs r.Run until the test ends.
func runResolver(t *testing.T, r *Resolver) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}
