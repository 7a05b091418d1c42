package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/rpcgate/rpcgate/internal/tenant"
)

// KeyAdmin is what the key endpoints change and read; *tenant.Admin
// implements it.
type KeyAdmin interface {
	ListKeys(ctx context.Context) ([]KeyInfo, error)
	// AddKey stores a run-time key and returns its secret (generated when
	// secret is empty).
	AddKey(ctx context.Context, name, plan, secret string, metrics bool) (string, error)
	SetKeyDisabled(ctx context.Context, name string, disabled bool) error
	DeleteKey(ctx context.Context, name string) error
	Usage(ctx context.Context, name string, from, to time.Time) (tenant.UsageReport, error)
}

// KeyInfo is a key as listed: name, plan, state and source, never the
// secret or its hash.
type KeyInfo = tenant.KeyInfo

var _ KeyAdmin = (*tenant.Admin)(nil)

// KeysHandler serves the key endpoints under /admin/keys. It does not check
// the bearer token: mount it inside Handler's mux.
func KeysHandler(k KeyAdmin, log *slog.Logger) http.Handler {
	a := &keysAPI{k: k, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/keys", a.list)
	mux.HandleFunc("POST /admin/keys", a.add)
	mux.HandleFunc("POST /admin/keys/{name}/disable", a.disable)
	mux.HandleFunc("POST /admin/keys/{name}/enable", a.enable)
	mux.HandleFunc("DELETE /admin/keys/{name}", a.remove)
	mux.HandleFunc("GET /admin/keys/{name}/usage", a.usage)
	return mux
}

type keysAPI struct {
	k   KeyAdmin
	log *slog.Logger
}

func (a *keysAPI) list(w http.ResponseWriter, r *http.Request) {
	keys, err := a.k.ListKeys(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if keys == nil {
		keys = []KeyInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// keySpec is the body of POST /admin/keys.
type keySpec struct {
	Name string `json:"name"`
	Plan string `json:"plan"`
	// Key is the secret to use; empty: a random 32-byte hex secret.
	Key     string `json:"key,omitempty"`
	Metrics bool   `json:"metrics,omitempty"`
}

func (a *keysAPI) add(w http.ResponseWriter, r *http.Request) {
	var s keySpec
	if err := decode(r, &s); err != nil {
		a.fail(w, r, err)
		return
	}
	if s.Name == "" {
		a.fail(w, r, &InvalidError{Field: "name", Msg: "is required"})
		return
	}
	secret, err := a.k.AddKey(r.Context(), s.Name, s.Plan, s.Key, s.Metrics)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.log.Info("admin: key added", "key", s.Name, "plan", s.Plan, "metrics", s.Metrics)
	// The only time the secret is shown: keep it out of caches.
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]any{"name": s.Name, "key": secret})
}

func (a *keysAPI) disable(w http.ResponseWriter, r *http.Request) { a.setDisabled(w, r, true) }
func (a *keysAPI) enable(w http.ResponseWriter, r *http.Request)  { a.setDisabled(w, r, false) }

func (a *keysAPI) setDisabled(w http.ResponseWriter, r *http.Request, disabled bool) {
	name := r.PathValue("name")
	if err := a.k.SetKeyDisabled(r.Context(), name, disabled); err != nil {
		a.fail(w, r, err)
		return
	}
	a.log.Info("admin: key changed", "key", name, "disabled", disabled)
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "disabled": disabled})
}

func (a *keysAPI) remove(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := a.k.DeleteKey(r.Context(), name); err != nil {
		a.fail(w, r, err)
		return
	}
	a.log.Info("admin: key deleted", "key", name)
	writeJSON(w, http.StatusOK, map[string]any{"deleted": name})
}

// usage serves ?from=YYYY-MM-DD&to=YYYY-MM-DD (UTC days, inclusive; each
// defaults to today, UTC).
func (a *keysAPI) usage(w http.ResponseWriter, r *http.Request) {
	today := time.Now().UTC().Truncate(24 * time.Hour)
	from, err := queryDate(r, "from", today)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	to, err := queryDate(r, "to", today)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if to.Before(from) {
		a.fail(w, r, &InvalidError{Field: "to", Msg: "is before from"})
		return
	}
	if to.Sub(from) >= tenant.MaxUsageDays*24*time.Hour {
		a.fail(w, r, &InvalidError{Field: "to", Msg: "is more than 400 days after from"})
		return
	}
	rep, err := a.k.Usage(r.Context(), r.PathValue("name"), from, to)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func queryDate(r *http.Request, field string, def time.Time) (time.Time, error) {
	v := r.URL.Query().Get(field)
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, &InvalidError{Field: field, Msg: "must be a date, YYYY-MM-DD"}
	}
	return t, nil
}

// fail maps typed errors to statuses; anything else is a 500 whose detail
// goes to the log.
func (a *keysAPI) fail(w http.ResponseWriter, r *http.Request, err error) {
	var inv *InvalidError
	var tinv *tenant.InvalidError
	switch {
	case errors.As(err, &inv):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: inv.Error(), Field: inv.Field})
	case errors.As(err, &tinv):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: tinv.Error(), Field: tinv.Field})
	case errors.Is(err, tenant.ErrUsageRange):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error(), Field: "to"})
	case errors.Is(err, tenant.ErrKeyNotFound):
		writeJSON(w, http.StatusNotFound, errorBody{Error: err.Error()})
	case errors.Is(err, tenant.ErrKeyExists), errors.Is(err, tenant.ErrSecretInUse), errors.Is(err, tenant.ErrConfigKey):
		writeJSON(w, http.StatusConflict, errorBody{Error: err.Error()})
	default:
		internalError(w, r, a.log, err) // api.go: no internal addresses in the answer
	}
}
