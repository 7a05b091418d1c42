package tenant

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func BenchmarkResolve(b *testing.B) {
	r := newTestResolver(b, testConfig(), nil)
	secret := NewSecret() // 64 characters, like generated keys
	if err := r.ks.Put(context.Background(), StoredKey{Name: "bench", Hash: HashSecret(secret), Plan: "pro"}); err != nil {
		b.Fatal(err)
	}
	set, _ := r.ks.List(context.Background())
	r.setRuntime(set)

	b.Run("header", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodPost, "/eth", nil)
		req.Header.Set("X-Api-Key", secret)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Resolve(HTTP(req), "eth", "optional", ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("path-behind-proxy", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodPost, "/eth", nil)
		req.RemoteAddr = "10.1.2.3:999"
		req.Header.Set("X-Forwarded-For", "198.51.100.7, 10.9.9.9")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Resolve(HTTP(req), "eth", "optional", secret); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("anonymous", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodPost, "/eth", nil)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Resolve(HTTP(req), "eth", "optional", ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkUsageAdd(b *testing.B) {
	u := NewMemoryUsage()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		u.Add(context.Background(), "key:alice", "eth_call", 2, now)
	}
}
