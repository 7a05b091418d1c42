package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rpcgate/rpcgate/internal/watch"
)

// StoredKey is an API key added at run time. Only the digest of the secret
// is stored; the secret is shown once, when the key is created.
type StoredKey struct {
	Name     string    `json:"name"`
	Hash     string    `json:"hash"` // "sha256:<64 hex digits>"
	Plan     string    `json:"plan"`
	Disabled bool      `json:"disabled,omitempty"`
	Metrics  bool      `json:"metrics,omitempty"`
	Created  time.Time `json:"created"`
}

// Validate checks what every store relies on: a usable name, a well-formed
// hash and a plan name. Whether the plan exists is the Resolver's concern
// (a reload may remove it).
func (k StoredKey) Validate() error {
	if err := checkKeyName(k.Name); err != nil {
		return err
	}
	if _, err := ParseHash(k.Hash); err != nil {
		return fmt.Errorf("key %q: %w", k.Name, err)
	}
	if k.Plan == "" {
		return fmt.Errorf("key %q: no plan", k.Name)
	}
	return nil
}

// KeyStore holds the keys added at run time.
type KeyStore interface {
	// List returns every stored key, sorted by name. With Redis it fails
	// while Redis is unreachable; callers keep their last known set.
	List(ctx context.Context) ([]StoredKey, error)
	// Put inserts or replaces the key with k.Name.
	Put(ctx context.Context, k StoredKey) error
	// Delete forgets the key; deleting a missing key is no error.
	Delete(ctx context.Context, name string) error
	// Watch calls fn with the full set after every change made through any
	// store sharing the backend, until ctx ends; it blocks, so run it in a
	// goroutine you join. Calls are sequential and coalesce. fn is also
	// called with the current set when Watch starts, and with Redis after
	// every reconnect (a full re-sync), so no change is missed.
	Watch(ctx context.Context, fn func([]StoredKey))
}

// KeyCreator is a KeyStore that can insert a key only when its name is
// free, atomically across replicas (ErrKeyExists otherwise). Both stores
// here implement it; Admin falls back to List-then-Put without it.
type KeyCreator interface {
	Create(ctx context.Context, k StoredKey) error
}

var (
	_ KeyCreator = (*memKeys)(nil)
	_ KeyCreator = (*redisKeys)(nil)
)

// digest is the sha256 of a secret. Keys are found by a map lookup on it.
// The map compares digests, not secrets, and a caller cannot steer the
// digest, so timing reveals nothing useful about any stored secret:
// constant-time comparison is not needed.
type digest [sha256.Size]byte

// HashSecret returns the "sha256:<hex>" form stored for a secret, as in
// the config's keys[].hash.
func HashSecret(secret string) string {
	d := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(d[:])
}

// ParseHash reads "sha256:<64 hex digits>" (hex in either case).
func ParseHash(s string) (digest, error) {
	var d digest
	hexPart, ok := strings.CutPrefix(s, "sha256:")
	if !ok {
		return d, errors.New(`hash must start with "sha256:"`)
	}
	if len(hexPart) != 2*sha256.Size {
		return d, fmt.Errorf("hash must have %d hex digits after sha256:, not %d", 2*sha256.Size, len(hexPart))
	}
	if _, err := hex.Decode(d[:], []byte(hexPart)); err != nil {
		return d, fmt.Errorf("hash is not hex: %w", err)
	}
	return d, nil
}

// NewSecret returns a random 32-byte secret, hex encoded.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// AnonymousPlan is the plan of keyless traffic, and a reserved key name.
const AnonymousPlan = "anonymous"

// checkKeyName keeps names safe in URLs, Redis fields, log lines and
// metric labels.
func checkKeyName(name string) error {
	if name == "" {
		return errors.New("name is empty")
	}
	if len(name) > 64 {
		return fmt.Errorf("name %q is longer than 64 characters", name)
	}
	for _, c := range []byte(name) {
		if !isNameChar(c) {
			return fmt.Errorf("name %q may only hold letters, digits and -_.", name)
		}
	}
	if name == AnonymousPlan {
		return fmt.Errorf("name %q is reserved for keyless traffic", name)
	}
	return nil
}

func isNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

// checkSecret bounds a client-chosen secret: long enough not to be
// guessed, and safe in a path segment, a header and a query.
func checkSecret(s string) error {
	if len(s) < 16 || len(s) > 256 {
		return errors.New("must be 16 to 256 characters")
	}
	for _, c := range []byte(s) {
		if !isNameChar(c) && c != '~' {
			return errors.New("may only hold letters, digits and -_.~")
		}
	}
	return nil
}

// NewMemoryKeys returns a KeyStore that lives in this process only: keys
// added at run time last until it exits. Watch sees this store's changes.
func NewMemoryKeys() KeyStore {
	return &memKeys{keys: map[string]StoredKey{}}
}

type memKeys struct {
	mu    sync.Mutex
	keys  map[string]StoredKey
	watch watch.Notifier
}

func (s *memKeys) List(context.Context) ([]StoredKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshot(), nil
}

func (s *memKeys) snapshot() []StoredKey {
	out := make([]StoredKey, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, k)
	}
	sortKeys(out)
	return out
}

func (s *memKeys) Put(_ context.Context, k StoredKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.keys[k.Name] = k
	s.mu.Unlock()
	s.watch.Signal()
	return nil
}

func (s *memKeys) Create(_ context.Context, k StoredKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	if _, ok := s.keys[k.Name]; ok {
		s.mu.Unlock()
		return ErrKeyExists
	}
	s.keys[k.Name] = k
	s.mu.Unlock()
	s.watch.Signal()
	return nil
}

func (s *memKeys) Delete(_ context.Context, name string) error {
	s.mu.Lock()
	delete(s.keys, name)
	s.mu.Unlock()
	s.watch.Signal()
	return nil
}

func (s *memKeys) Watch(ctx context.Context, fn func([]StoredKey)) {
	wake, stop := s.watch.Add(true)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
			s.mu.Lock()
			set := s.snapshot()
			s.mu.Unlock()
			fn(set)
		}
	}
}

func sortKeys(ks []StoredKey) {
	slices.SortFunc(ks, func(a, b StoredKey) int { return strings.Compare(a.Name, b.Name) })
}
