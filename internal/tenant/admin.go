package tenant

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// KeyInfo is a key as the admin API lists it: never the secret or its
// hash.
type KeyInfo struct {
	Name     string    `json:"name"`
	Plan     string    `json:"plan"`
	Disabled bool      `json:"disabled"`
	Metrics  bool      `json:"metrics"`
	Source   string    `json:"source"` // "config" or "runtime"
	Created  time.Time `json:"created,omitzero"`
}

// Admin manages keys for the admin API: config keys are read-only; keys
// added at run time live in the KeyStore. Changes are also applied to the
// Resolver at once, so this replica serves a new key before the store's
// change notice arrives.
type Admin struct {
	r   *Resolver
	ks  KeyStore
	u   Usage
	now func() time.Time
}

// NewAdmin combines a Resolver (plans and config keys), the KeyStore it
// was built with, and the usage store. now may be nil (time.Now).
func NewAdmin(r *Resolver, ks KeyStore, u Usage, now func() time.Time) *Admin {
	if now == nil {
		now = time.Now
	}
	return &Admin{r: r, ks: ks, u: u, now: now}
}

// ListKeys returns config keys then run-time keys, each sorted by name. A
// run-time key hidden by a config key of the same name is not listed.
func (a *Admin) ListKeys(ctx context.Context) ([]KeyInfo, error) {
	s := a.settings()
	stored, err := a.ks.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, 0, len(s.configNames)+len(stored))
	for _, name := range slices.Sorted(maps.Keys(s.configNames)) {
		e := s.configNames[name]
		out = append(out, KeyInfo{Name: name, Plan: e.planName, Disabled: e.disabled, Metrics: e.metrics, Source: "config"})
	}
	for _, k := range stored {
		if _, ok := s.configNames[k.Name]; ok {
			continue
		}
		out = append(out, KeyInfo{Name: k.Name, Plan: k.Plan, Disabled: k.Disabled, Metrics: k.Metrics, Source: "runtime", Created: k.Created})
	}
	return out, nil
}

// AddKey stores a new run-time key and returns its secret, generated when
// secret is empty. Errors: *InvalidError naming "name", "plan" or "key";
// ErrKeyExists; ErrSecretInUse.
func (a *Admin) AddKey(ctx context.Context, name, plan, secret string, metrics bool) (string, error) {
	s := a.settings()
	if err := checkKeyName(name); err != nil {
		return "", &InvalidError{Field: "name", Msg: strings.TrimPrefix(err.Error(), "name ")}
	}
	if plan == "" {
		return "", &InvalidError{Field: "plan", Msg: "is required"}
	}
	if _, ok := s.plans[plan]; !ok {
		return "", &InvalidError{Field: "plan", Msg: fmt.Sprintf("%q is not a configured plan (plans: %s)",
			plan, strings.Join(slices.Sorted(maps.Keys(s.plans)), ", "))}
	}
	if secret == "" {
		secret = NewSecret()
	} else if err := checkSecret(secret); err != nil {
		return "", &InvalidError{Field: "key", Msg: err.Error()}
	}
	if _, ok := s.configNames[name]; ok {
		return "", ErrKeyExists
	}
	hash := HashSecret(secret)
	if _, ok := a.r.table.Load().keys[hashString(secret)]; ok {
		return "", ErrSecretInUse
	}
	k := StoredKey{Name: name, Hash: hash, Plan: plan, Metrics: metrics, Created: a.now().UTC().Truncate(time.Second)}
	if err := a.create(ctx, k); err != nil {
		return "", err
	}
	a.refresh(ctx)
	return secret, nil
}

func (a *Admin) create(ctx context.Context, k StoredKey) error {
	if c, ok := a.ks.(KeyCreator); ok {
		return c.Create(ctx, k)
	}
	if _, err := a.find(ctx, k.Name); err == nil {
		return ErrKeyExists
	} else if !errors.Is(err, ErrKeyNotFound) {
		return err
	}
	return a.ks.Put(ctx, k)
}

// SetKeyDisabled disables or enables a run-time key. Errors: ErrConfigKey,
// ErrKeyNotFound.
func (a *Admin) SetKeyDisabled(ctx context.Context, name string, disabled bool) error {
	if _, ok := a.settings().configNames[name]; ok {
		return ErrConfigKey
	}
	k, err := a.find(ctx, name)
	if err != nil {
		return err
	}
	if k.Disabled == disabled {
		return nil
	}
	k.Disabled = disabled
	if err := a.ks.Put(ctx, k); err != nil {
		return err
	}
	a.refresh(ctx)
	return nil
}

// DeleteKey removes a run-time key. Errors: ErrConfigKey, ErrKeyNotFound.
func (a *Admin) DeleteKey(ctx context.Context, name string) error {
	if _, ok := a.settings().configNames[name]; ok {
		return ErrConfigKey
	}
	if _, err := a.find(ctx, name); err != nil {
		return err
	}
	if err := a.ks.Delete(ctx, name); err != nil {
		return err
	}
	a.refresh(ctx)
	return nil
}

// Usage reports a key's usage; "anonymous" reports keyless traffic.
// Errors: ErrKeyNotFound (neither a config nor a run-time key),
// ErrUsageRange.
func (a *Admin) Usage(ctx context.Context, name string, from, to time.Time) (UsageReport, error) {
	if name != AnonymousPlan {
		if _, ok := a.settings().configNames[name]; !ok {
			if _, err := a.find(ctx, name); err != nil {
				return UsageReport{}, err
			}
		}
	}
	rep, err := a.u.Get(ctx, UsageKeyOf(name), from, to)
	rep.Key = name
	return rep, err
}

func (a *Admin) settings() *settings { return a.r.table.Load().settings }

func (a *Admin) find(ctx context.Context, name string) (StoredKey, error) {
	set, err := a.ks.List(ctx)
	if err != nil {
		return StoredKey{}, err
	}
	for _, k := range set {
		if k.Name == name {
			return k, nil
		}
	}
	return StoredKey{}, ErrKeyNotFound
}

// refresh applies the store's current keys to the Resolver. A failure is
// harmless: Watch delivers the change anyway.
func (a *Admin) refresh(ctx context.Context) {
	if set, err := a.ks.List(ctx); err == nil {
		a.r.setRuntime(set)
	}
}
