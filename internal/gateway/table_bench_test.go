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

// largeTable is a table of n routes shaped like the bench harness's large
// registry (hack/bench/large.go): prefixes two and three segments deep,
// beside the measured "/api/bench".
func largeTable(n int) *Table {
	t := NewTable()
	t.Set(&Route{Key: "ns/echo", PathPrefix: "/api/bench", Endpoints: []*url.URL{{Scheme: "http", Host: "127.0.0.1:1"}}})
	for i := range n {
		p := fmt.Sprintf("/svc-%02d/r-%04d", i%50, i)
		if i%2 == 1 {
			p = fmt.Sprintf("/api/bench-%04d/v1", i)
		}
		t.Set(&Route{Key: fmt.Sprintf("ns/route-%04d", i), PathPrefix: p, Endpoints: []*url.URL{{Scheme: "http", Host: "127.0.0.1:1"}}})
	}
	return t
}

// BenchmarkRouteMatchSize is the gateway's lookup of the measured route in
// tables of 1 and 1,000 other routes (issue 22: the lookup must not grow
// with the table; compare the two with benchstat).
func BenchmarkRouteMatchSize(b *testing.B) {
	for _, n := range []int{1, 1000} {
		t := largeTable(n)
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if t.match("/api/bench/items") == nil {
					b.Fatal("no match")
				}
			}
		})
	}
}
