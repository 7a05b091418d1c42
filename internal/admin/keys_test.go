package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rpcgate/rpcgate/internal/config"
	"github.com/rpcgate/rpcgate/internal/tenant"
)

const configSecret = "config-secret-0000000001"

// keysServer serves KeysHandler over a real tenant.Admin with in-memory
// stores, on a loopback server.
type keysServer struct {
	t     *testing.T
	url   string
	res   *tenant.Resolver
	usage tenant.Usage
}

func newKeysServer(t *testing.T) *keysServer {
	t.Helper()
	cfg := &config.Config{
		Chains: map[string]*config.Chain{"eth": {ChainID: 1}},
		Plans:  map[string]*config.Plan{"free": {}, "pro": {Priority: "high"}},
		Keys:   []*config.Key{{Name: "cfgkey", Key: configSecret, Plan: "pro"}},
	}
	ks := tenant.NewMemoryKeys()
	res, err := tenant.NewResolver(cfg, ks)
	if err != nil {
		t.Fatal(err)
	}
	u := tenant.NewMemoryUsage()
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	srv := httptest.NewServer(KeysHandler(tenant.NewAdmin(res, ks, u, nil), log))
	t.Cleanup(srv.Close)
	return &keysServer{t: t, url: srv.URL, res: res, usage: u}
}

// do sends a request and returns the status and the raw body.
func (s *keysServer) do(method, path, body string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (s *keysServer) expect(method, path, body string, status int) string {
	s.t.Helper()
	got, resp := s.do(method, path, body)
	if got != status {
		s.t.Fatalf("%s %s %s: status %d, want %d; body %s", method, path, body, got, status, resp)
	}
	return resp
}

func (s *keysServer) resolve(secret string) error {
	_, err := s.res.Resolve(tenant.HTTP(httptest.NewRequest(http.MethodPost, "/eth", nil)), "eth", "", secret)
	return err
}

func TestKeysAddListNeverShowsSecrets(t *testing.T) {
	t.Parallel()
	s := newKeysServer(t)

	req, _ := http.NewRequest(http.MethodPost, s.url+"/admin/keys", strings.NewReader(`{"name":"gen","plan":"free","metrics":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ Name, Key string }
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || created.Name != "gen" || len(created.Key) != 64 {
		t.Fatalf("POST: %d %+v, want 201 with a 64-character secret", resp.StatusCode, created)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	if err := s.resolve(created.Key); err != nil {
		t.Fatalf("the new key is not served: %v", err)
	}

	body := s.expect("POST", "/admin/keys", `{"name":"mine","plan":"pro","key":"my-own-secret-0000001"}`, http.StatusCreated)
	if !strings.Contains(body, `"key":"my-own-secret-0000001"`) {
		t.Fatalf("POST with a secret answered %s", body)
	}

	list := s.expect("GET", "/admin/keys", "", http.StatusOK)
	for _, secret := range []string{created.Key, "my-own-secret-0000001", configSecret, "sha256", "hash"} {
		if strings.Contains(list, secret) {
			t.Fatalf("list shows %q: %s", secret, list)
		}
	}
	var got struct{ Keys []tenant.KeyInfo }
	if err := json.Unmarshal([]byte(list), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Keys) != 3 {
		t.Fatalf("list = %+v, want 3 keys", got.Keys)
	}
	cfg, gen := got.Keys[0], got.Keys[1]
	if cfg.Name != "cfgkey" || cfg.Source != "config" || cfg.Plan != "pro" || !cfg.Created.IsZero() {
		t.Errorf("config key listed as %+v", cfg)
	}
	if gen.Name != "gen" || gen.Source != "runtime" || gen.Plan != "free" || !gen.Metrics || gen.Created.IsZero() {
		t.Errorf("runtime key listed as %+v", gen)
	}
}

func TestKeysAddRejects(t *testing.T) {
	t.Parallel()
	s := newKeysServer(t)
	s.expect("POST", "/admin/keys", `{"name":"taken","plan":"free","key":"taken-secret-00000001"}`, http.StatusCreated)
	tests := []struct {
		name, body string
		status     int
		field      string
	}{
		{"unknown plan", `{"name":"x","plan":"gold"}`, 400, "plan"},
		{"no plan", `{"name":"x"}`, 400, "plan"},
		{"no name", `{"plan":"free"}`, 400, "name"},
		{"bad name", `{"name":"a/b","plan":"free"}`, 400, "name"},
		{"reserved name", `{"name":"anonymous","plan":"free"}`, 400, "name"},
		{"short secret", `{"name":"x","plan":"free","key":"short"}`, 400, "key"},
		{"wrong type", `{"name":"x","plan":"free","metrics":"yes"}`, 400, "metrics"},
		{"unknown field is named", `{"name":"x","plan":"free","hash":"sha256:00"}`, 400, "hash"},
		{"not JSON", `{"name":`, 400, "body"},
		{"name taken", `{"name":"taken","plan":"free"}`, 409, ""},
		{"config key's name", `{"name":"cfgkey","plan":"free"}`, 409, ""},
		{"secret in use", `{"name":"y","plan":"free","key":"` + configSecret + `"}`, 409, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := s.expect("POST", "/admin/keys", tt.body, tt.status)
			var e errorBody
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" || e.Field != tt.field {
				t.Fatalf("body %s: want an error naming field %q", body, tt.field)
			}
		})
	}
}

func TestKeysDisableEnableDelete(t *testing.T) {
	t.Parallel()
	s := newKeysServer(t)
	const secret = "runtime-secret-000001"
	s.expect("POST", "/admin/keys", `{"name":"rt","plan":"free","key":"`+secret+`"}`, http.StatusCreated)

	s.expect("POST", "/admin/keys/rt/disable", "", http.StatusOK)
	if err := s.resolve(secret); !errors.Is(err, tenant.ErrKeyDisabled) {
		t.Fatalf("disabled key: %v, want ErrKeyDisabled", err)
	}
	if list := s.expect("GET", "/admin/keys", "", http.StatusOK); !strings.Contains(list, `"name":"rt","plan":"free","disabled":true`) {
		t.Fatalf("list after disable: %s", list)
	}
	s.expect("POST", "/admin/keys/rt/enable", "", http.StatusOK)
	if err := s.resolve(secret); err != nil {
		t.Fatalf("enabled key: %v", err)
	}

	for _, req := range [][2]string{{"POST", "/admin/keys/cfgkey/disable"}, {"POST", "/admin/keys/cfgkey/enable"}, {"DELETE", "/admin/keys/cfgkey"}} {
		if body := s.expect(req[0], req[1], "", http.StatusConflict); !strings.Contains(body, "edit the config") {
			t.Errorf("%s %s: %s, want a hint to edit the config", req[0], req[1], body)
		}
	}
	if err := s.resolve(configSecret); err != nil {
		t.Fatalf("config key after refused changes: %v", err)
	}

	s.expect("DELETE", "/admin/keys/rt", "", http.StatusOK)
	if err := s.resolve(secret); !errors.Is(err, tenant.ErrUnknownKey) {
		t.Fatalf("deleted key: %v, want ErrUnknownKey", err)
	}
	s.expect("DELETE", "/admin/keys/rt", "", http.StatusNotFound)
	s.expect("POST", "/admin/keys/rt/disable", "", http.StatusNotFound)
	s.expect("GET", "/admin/keys/rt/usage", "", http.StatusNotFound)
}

func TestKeysUsage(t *testing.T) {
	t.Parallel()
	s := newKeysServer(t)
	ctx := context.Background()
	d := time.Now().UTC().AddDate(0, 0, -10).Truncate(24 * time.Hour).Add(10 * time.Hour)
	from, to := d.Format(time.DateOnly), d.AddDate(0, 0, 1).Format(time.DateOnly)
	s.usage.Add(ctx, "key:cfgkey", "eth_call", 2, d)
	s.usage.Add(ctx, "key:cfgkey", "eth_call", 2, d)
	s.usage.Add(ctx, "key:cfgkey", "eth_getLogs", 20, d.AddDate(0, 0, 1))
	s.usage.Add(ctx, "plan:anonymous", "eth_chainId", 1, time.Now())

	body := s.expect("GET", "/admin/keys/cfgkey/usage?from="+from+"&to="+to, "", http.StatusOK)
	var rep tenant.UsageReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Key != "cfgkey" || len(rep.Days) != 2 || rep.Days[0].Date != from ||
		rep.Days[0].Methods["eth_call"] != (tenant.MethodUsage{Requests: 2, ComputeUnits: 4}) ||
		rep.Days[1].Requests != 1 || rep.Days[1].ComputeUnits != 20 {
		t.Fatalf("usage = %s", body)
	}
	// Default: today only.
	body = s.expect("GET", "/admin/keys/anonymous/usage", "", http.StatusOK)
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Days) != 1 || rep.Days[0].Date != time.Now().UTC().Format(time.DateOnly) || rep.Days[0].Requests != 1 {
		t.Fatalf("anonymous usage today = %s", body)
	}

	for _, tt := range []struct{ query, field string }{
		{"from=2025-13-01", "from"},
		{"from=yesterday", "from"},
		{"from=2025-06-02&to=2025-06-01", "to"},
		{"from=2020-01-01&to=2025-01-01", "to"},
	} {
		body := s.expect("GET", "/admin/keys/cfgkey/usage?"+tt.query, "", http.StatusBadRequest)
		if !strings.Contains(body, `"field":"`+tt.field+`"`) {
			t.Errorf("?%s: %s, want field %q", tt.query, body, tt.field)
		}
	}
	s.expect("GET", "/admin/keys/nobody/usage", "", http.StatusNotFound)
}
