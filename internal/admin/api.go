// Package admin is the private admin API: live fleet state, run-time node
// changes, drain, reload, /metrics and pprof, all behind a bearer token.
// It knows the fleet only through the small Fleet interface.
package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rpcgate/rpcgate/internal/telemetry"
)

// Fleet is what the admin API changes and reads.
type Fleet interface {
	// View returns the live state of every chain and node, ready for JSON.
	View() any
	AddNode(ctx context.Context, chain string, s NodeSpec) error
	RemoveNode(ctx context.Context, chain, name string) error
	Drain(ctx context.Context, chain, name string, remove bool) error
	Undrain(ctx context.Context, chain, name string) error
	Reload() error
}

// Quarantiner is a Fleet that can end a node's quarantine (optional).
type Quarantiner interface {
	ClearQuarantine(ctx context.Context, chain, name string) (bool, error)
}

// Handler returns the admin listener's handler. Every path needs
// "Authorization: Bearer <token>" (compared in constant time); a missing
// or wrong token gets 401. An empty token (allowed by config validation
// only on loopback) disables the check. In front of the token, guard
// keeps web pages out (issue 8, defect 5): allowedHosts are the Host
// names accepted besides IP literals and localhost. Each extra Mount
// serves its prefix behind the same guard and token.
func Handler(token string, m *telemetry.Metrics, f Fleet, keys http.Handler, log *slog.Logger, allowedHosts []string, extra ...Mount) http.Handler {
	a := &api{f: f, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/nodes", a.nodes)
	mux.HandleFunc("POST /admin/chains/{chain}/nodes", a.add)
	mux.HandleFunc("DELETE /admin/chains/{chain}/nodes/{name}", a.remove)
	mux.HandleFunc("POST /admin/chains/{chain}/nodes/{name}/drain", a.drain)
	mux.HandleFunc("POST /admin/chains/{chain}/nodes/{name}/undrain", a.undrain)
	mux.HandleFunc("POST /admin/reload", a.reload)
	if _, ok := f.(Quarantiner); ok {
		mux.HandleFunc("POST /admin/chains/{chain}/nodes/{name}/unquarantine", a.unquarantine)
	}
	mux.HandleFunc("POST /admin/chains/{chain}/cache/purge", a.purgeCache)
	if keys != nil {
		mux.Handle("/admin/keys", keys)
		mux.Handle("/admin/keys/", keys)
	}
	for _, x := range extra {
		mux.Handle(x.Prefix, x.Handler)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return guard(allowedHosts, requireToken(token, mux))
}

// Protect puts h behind the same browser guard and bearer token as the
// admin API, for other handlers served on the admin listener
// (/snapshots/).
func Protect(token string, h http.Handler, allowedHosts ...string) http.Handler {
	return guard(allowedHosts, requireToken(token, h))
}

// guard refuses what only a web browser would send, so that no web page
// can drive the admin API, token or not:
//
//   - a request with an Origin header, or Sec-Fetch-Site cross-site or
//     same-site (another port on localhost is same-site): 403. Admin
//     clients (curl, scripts, rpcgate itself) send neither.
//   - a Host that is neither an IP literal, nor localhost, nor listed in
//     admin.allowed_hosts: 403. A DNS-rebinding page reaches the listener
//     under its own domain name, which is refused here.
//   - a write (POST, PUT, PATCH, DELETE) whose Content-Type is not
//     application/json: 415. A body requires it; a bodiless write may omit
//     it. HTML forms and simple cross-site fetches cannot send JSON
//     without a CORS preflight, which the admin API never grants.
func guard(allowedHosts []string, next http.Handler) http.Handler {
	allowed := map[string]bool{}
	for _, h := range allowedHosts {
		allowed[strings.ToLower(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Header["Origin"]; ok {
			writeJSON(w, http.StatusForbidden, errorBody{Error: "requests from web pages (with an Origin header) are refused by the admin API"})
			return
		}
		if s := r.Header.Get("Sec-Fetch-Site"); s == "cross-site" || s == "same-site" {
			writeJSON(w, http.StatusForbidden, errorBody{Error: "cross-site requests are refused by the admin API"})
			return
		}
		if !hostAllowed(r.Host, allowed) {
			writeJSON(w, http.StatusForbidden, errorBody{Error: "Host is not this admin listener; use its IP address or localhost, or list the name in admin.allowed_hosts"})
			return
		}
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			ct := r.Header.Get("Content-Type")
			hasBody := r.ContentLength != 0 // -1: unknown (chunked)
			if ct == "" && !hasBody {
				break
			}
			if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
				writeJSON(w, http.StatusUnsupportedMediaType, errorBody{Error: "admin writes must be sent with Content-Type: application/json"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// hostAllowed accepts IP literals (no name to rebind), localhost and the
// configured names, with or without a port.
func hostAllowed(host string, allowed map[string]bool) bool {
	h := strings.ToLower(host)
	if allowed[h] {
		return true
	}
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if h == "" {
		return false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || allowed[h]
}

// Mount is one more admin handler, served at Prefix (a ServeMux pattern
// such as "/admin/orchestrator/") behind the admin token.
type Mount struct {
	Prefix  string
	Handler http.Handler
}

func requireToken(token string, next http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rpcgate-admin"`)
			writeJSON(w, http.StatusUnauthorized, errorBody{Error: "missing or wrong bearer token"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

type api struct {
	f   Fleet
	log *slog.Logger
}

type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func (a *api) nodes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"chains": a.f.View()})
}

func (a *api) add(w http.ResponseWriter, r *http.Request) {
	var s NodeSpec
	if err := decode(r, &s); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.f.AddNode(r.Context(), r.PathValue("chain"), s); err != nil {
		a.fail(w, r, err)
		return
	}
	a.log.Info("admin: node added", "chain", r.PathValue("chain"), "node", s.Name, "groups", s.Groups)
	writeJSON(w, http.StatusCreated, map[string]any{"added": s.Name, "chain": r.PathValue("chain")})
}

func (a *api) remove(w http.ResponseWriter, r *http.Request) {
	if err := a.f.RemoveNode(r.Context(), r.PathValue("chain"), r.PathValue("name")); err != nil {
		a.fail(w, r, err)
		return
	}
	a.log.Info("admin: node removed", "chain", r.PathValue("chain"), "node", r.PathValue("name"))
	writeJSON(w, http.StatusOK, map[string]any{"removed": r.PathValue("name")})
}

func (a *api) drain(w http.ResponseWriter, r *http.Request) {
	var body struct {
		// Remove the node once its in-flight requests are done (default:
		// it stays parked until undrain).
		Remove bool `json:"remove"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &body); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if err := a.f.Drain(r.Context(), r.PathValue("chain"), r.PathValue("name"), body.Remove); err != nil {
		a.fail(w, r, err)
		return
	}
	a.log.Info("admin: node draining", "chain", r.PathValue("chain"), "node", r.PathValue("name"), "remove_when_idle", body.Remove)
	writeJSON(w, http.StatusAccepted, map[string]any{"draining": r.PathValue("name"), "remove_when_idle": body.Remove})
}

func (a *api) undrain(w http.ResponseWriter, r *http.Request) {
	if err := a.f.Undrain(r.Context(), r.PathValue("chain"), r.PathValue("name")); err != nil {
		a.fail(w, r, err)
		return
	}
	a.log.Info("admin: node undrained", "chain", r.PathValue("chain"), "node", r.PathValue("name"))
	writeJSON(w, http.StatusOK, map[string]any{"undrained": r.PathValue("name")})
}

func (a *api) unquarantine(w http.ResponseWriter, r *http.Request) {
	was, err := a.f.(Quarantiner).ClearQuarantine(r.Context(), r.PathValue("chain"), r.PathValue("name"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.log.Info("admin: quarantine cleared", "chain", r.PathValue("chain"), "node", r.PathValue("name"), "was_quarantined", was)
	writeJSON(w, http.StatusOK, map[string]any{"node": r.PathValue("name"), "was_quarantined": was})
}

func (a *api) reload(w http.ResponseWriter, r *http.Request) {
	if err := a.f.Reload(); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"reloaded": true})
}

// fail maps typed errors to statuses; anything else is a 500 whose detail
// goes to the log.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	var inv *InvalidError
	var spec *SpecError
	var ver *VerifyError
	var rel *ReloadError
	switch {
	case errors.As(err, &spec):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: spec.Error(), Field: spec.Field})
	case errors.As(err, &inv):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: inv.Error(), Field: inv.Field})
	case errors.Is(err, ErrUnknownChain), errors.Is(err, ErrUnknownNode):
		writeJSON(w, http.StatusNotFound, errorBody{Error: err.Error()})
	case errors.Is(err, ErrNodeExists):
		writeJSON(w, http.StatusConflict, errorBody{Error: err.Error()})
	case errors.As(err, &ver):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{Error: ver.Error()})
	case errors.As(err, &rel):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{Error: rel.Error()})
	default:
		internalError(w, r, a.log, err)
	}
}

// internalError answers 500 without the error's text, which can name
// internal addresses (a Redis dial error); the detail is logged under a
// reference the answer carries.
func internalError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	ref := hex.EncodeToString(b[:])
	log.Error("admin request failed", "path", r.URL.Path, "ref", ref, "err", telemetry.Redact(err.Error()))
	writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error (ref " + ref + "; the detail is in the gateway's log)"})
}

// maxBody bounds admin request bodies.
const maxBody = 1 << 20

// decode reads a JSON body strictly: unknown fields and trailing data are
// errors that name the field.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return &InvalidError{Field: te.Field, Msg: "must be a " + te.Type.String()}
		case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return &InvalidError{Field: "body", Msg: "is not valid JSON"}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			// encoding/json reports unknown fields only as text.
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &InvalidError{Field: name, Msg: "is not a known field"}
		default:
			return &InvalidError{Field: "body", Msg: err.Error()}
		}
	}
	if dec.More() {
		return &InvalidError{Field: "body", Msg: "has data after the JSON object"}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
