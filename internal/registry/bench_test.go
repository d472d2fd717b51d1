package registry

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkRegistry looks clients up in a registry of 1000, as the token
// endpoint (Authenticate) and the gateway (Get) do on every request.
func BenchmarkRegistry(b *testing.B) {
	r := New()
	const secret = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
	for i := range 1000 {
		id := fmt.Sprintf("team.client-%04d", i)
		r.Upsert(&Client{ID: id, Subject: SubjectFor(id), Scopes: []string{"mcp"}, Secrets: []SecretDigest{{Digest: Digest(secret)}}})
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.Run("get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := r.Get("team.client-0500"); !ok {
				b.Fatal("not found")
			}
		}
	})
	b.Run("authenticate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := r.Authenticate("team.client-0500", secret, now); !ok {
				b.Fatal("not authenticated")
			}
		}
	})
}
