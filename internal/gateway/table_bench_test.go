package gateway

import (
	"fmt"
	"net/url"
	"testing"
)

// BenchmarkRouteMatch is the longest-prefix match of a request path in a
// table of 200 routes, some nested.
func BenchmarkRouteMatch(b *testing.B) {
	t := NewTable()
	for i := range 100 {
		for _, p := range []string{fmt.Sprintf("/mcp/server-%03d", i), fmt.Sprintf("/mcp/server-%03d/admin", i)} {
			t.Set(&Route{Key: "ns/" + p, PathPrefix: p, Protocol: ProtocolMCP, Endpoints: []*url.URL{{Scheme: "http", Host: "127.0.0.1:1"}}})
		}
	}
	for _, bc := range []struct{ name, path string }{
		{"prefix", "/mcp/server-050"},
		{"nested", "/mcp/server-050/admin/tools/list"},
		{"deep-miss", "/api/a/b/c/d/e/f/g"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = t.match(bc.path)
			}
		})
	}
}
