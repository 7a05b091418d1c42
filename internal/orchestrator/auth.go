package orchestrator

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"sync"
	"time"
)

// Token is a per-node join token as the admin API lists it: never the
// secret itself, which is shown once, when it is created.
type Token struct {
	ID      string    `json:"id"`
	Chain   string    `json:"chain"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// auth decides who may join: a per-node token (bound to its chain and
// name), or the chain's shared secret.
type auth struct {
	secrets map[string]string // chain → shared secret; "" → orchestrator.join_secret

	mu     sync.Mutex
	tokens map[[32]byte]Token // sha256(secret) → token; the secret is not kept
}

func newAuth(secrets map[string]string) *auth {
	return &auth{secrets: secrets, tokens: map[[32]byte]Token{}}
}

// create makes a token for chain/name and returns it with its secret.
func (a *auth) create(chain, name string, now time.Time) (Token, string) {
	var raw [24]byte
	_, _ = rand.Read(raw[:])
	secret := "rgj_" + hex.EncodeToString(raw[:])
	var id [6]byte
	_, _ = rand.Read(id[:])
	t := Token{ID: hex.EncodeToString(id[:]), Chain: chain, Name: name, Created: now.UTC()}
	a.mu.Lock()
	a.tokens[sha256.Sum256([]byte(secret))] = t
	a.mu.Unlock()
	return t, secret
}

// revoke forgets a token; joins with it are refused from then on.
func (a *auth) revoke(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, t := range a.tokens {
		if t.ID == id {
			delete(a.tokens, k)
			return true
		}
	}
	return false
}

func (a *auth) list() []Token {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Token, 0, len(a.tokens))
	for _, t := range a.tokens {
		out = append(out, t)
	}
	return out
}

// allows reports whether secret lets node name join chain. Secrets are
// compared in constant time.
func (a *auth) allows(chain, name, secret string) bool {
	if secret == "" {
		return false
	}
	s := a.secrets[chain]
	if s == "" {
		s = a.secrets[""] // orchestrator.join_secret
	}
	if s != "" && subtle.ConstantTimeCompare([]byte(s), []byte(secret)) == 1 {
		return true
	}
	a.mu.Lock()
	t, ok := a.tokens[sha256.Sum256([]byte(secret))]
	a.mu.Unlock()
	return ok && t.Chain == chain && t.Name == name
}
