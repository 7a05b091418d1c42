package healthcheck

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer ready.Close()
	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer notReady.Close()
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/readyz"
	l.Close()

	cases := []struct {
		name, url, wantErr string
	}{
		{"ready", ready.URL + "/readyz", ""},
		{"not ready", notReady.URL + "/readyz", "503"},
		{"nothing listening", closed, "connect"},
		{"not http", "ftp://127.0.0.1/readyz", "not an http(s) URL"},
		{"no host", "http:///readyz", "not an http(s) URL"},
		{"garbage", "::", "not an http(s) URL"},
	}
	for _, c := range cases {
		err := Check(context.Background(), http.DefaultClient, c.url)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: Check = %v, want nil", c.name, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: Check = %v, want an error containing %q", c.name, err, c.wantErr)
		}
	}
}

// A URL with credentials must not show them in the error (the healthcheck
// output lands in `docker inspect` and orchestrator logs).
func TestCheckHidesPassword(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://user:s3cret@", 1) + "/readyz"
	err := Check(context.Background(), http.DefaultClient, u)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Check = %v, want an error without the password", err)
	}
}
