package registry

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkRegistry looks clients up in registries of 1, 1,000 and 10,000
// clients, as the token endpoint (Authenticate) and the gateway (Get) do on
// every request: a map lookup whatever the size (issue 22; compare the
// sizes with benchstat).
func BenchmarkRegistry(b *testing.B) {
	const secret = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{1, 1000, 10000} {
		r := New()
		for i := range n {
			id := fmt.Sprintf("team.client-%05d", i)
			r.Upsert(&Client{ID: id, Subject: SubjectFor(id), Scopes: []string{"mcp"}, Secrets: []SecretDigest{{Digest: Digest(secret)}}})
		}
		id := fmt.Sprintf("team.client-%05d", n/2)
		b.Run(fmt.Sprintf("clients=%d/get", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := r.Get(id); !ok {
					b.Fatal("not found")
				}
			}
		})
		b.Run(fmt.Sprintf("clients=%d/authenticate", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := r.Authenticate(id, secret, now); !ok {
					b.Fatal("not authenticated")
				}
			}
		})
	}
}
