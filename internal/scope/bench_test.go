package scope

import "testing"

// BenchmarkSatisfies is the gateway's RBAC check: a client's granted scopes
// against a route's required ones, by equality, built-in level or admin.
func BenchmarkSatisfies(b *testing.B) {
	held := []string{"mcp", "mcp:github:read", "a2a", "hook:track"}
	for _, bc := range []struct {
		name     string
		required []string
		all      bool
	}{
		{"any-equal", []string{"mcp:github:read"}, false},
		{"any-implied-level", []string{"anonymous"}, false},
		{"all-of-two", []string{"mcp", "mcp:github:read"}, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !Satisfies(held, bc.required, bc.all) {
					b.Fatal("not satisfied")
				}
			}
		})
	}
}

// BenchmarkParse is the token endpoint's scope parameter.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("mcp mcp:github:read a2a"); err != nil {
			b.Fatal(err)
		}
	}
}
