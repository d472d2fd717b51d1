package gateway

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzRouting checks, for any request path, method and Authorization
// header, that the gateway does not panic, and that a path it accepts is
// matched only by a route whose prefix is a whole-segment prefix of the
// cleaned path, and forwarded below that route's backend path.
func FuzzRouting(f *testing.F) {
	for _, s := range []string{
		"/mcp/github/x", "/mcp/github/../admin", "/mcp/githubx", "//mcp//github/", "/mcp/github/..;/admin",
		`/mcp/github/..\admin`, "/mcp/github/%2e%2e/x", "/.well-known/oauth-protected-resource/mcp/github", "", "*", "/a;b/c",
	} {
		f.Add(s, "GET", "Bearer abc")
	}
	f.Fuzz(func(t *testing.T, p, method, authz string) {
		fx := newFixture(t)
		routes := []*Route{
			{Key: "a/github", PathPrefix: "/mcp/github", BackendPath: "/mcp"},
			{Key: "a/admin", PathPrefix: "/admin", BackendPath: "/internal/"},
			{Key: "a/nested", PathPrefix: "/mcp/github/admin"},
			{Key: "a/root", PathPrefix: "/", BackendPath: "/root"},
		}
		for _, rt := range routes {
			fx.gw.Table().Set(rt)
		}
		if !ambiguousPath(p) {
			clean, trailing := cleanRequestPath(p)
			if e := fx.gw.Table().match(clean); e != nil {
				pre := e.route.PathPrefix
				if pre != "/" && clean != pre && !strings.HasPrefix(clean, pre+"/") {
					t.Fatalf("%q (clean %q) matched prefix %q", p, clean, pre)
				}
				out := backendPath(e.route.BackendPath, pre, clean, trailing)
				base := strings.TrimSuffix(e.route.BackendPath, "/")
				if out != base && !strings.HasPrefix(out, base+"/") {
					t.Fatalf("%q forwarded as %q, outside the backend path %q", p, out, e.route.BackendPath)
				}
				for seg := range strings.SplitSeq(out, "/") {
					if seg == ".." || seg == "." {
						t.Fatalf("%q forwarded as %q with a dot-segment", p, out)
					}
				}
			}
		}
		r := httptest.NewRequest("GET", "http://gw.example/", nil)
		if method != "" && !strings.ContainsAny(method, " \t\r\n") {
			r.Method = method
		}
		r.URL = &url.URL{Path: p}
		r.Header.Set("Authorization", authz)
		w := httptest.NewRecorder()
		fx.gw.ServeHTTP(w, r)
		if w.Code == http.StatusOK && r.Method != http.MethodGet && r.Method != http.MethodHead {
			t.Fatalf("%s %q answered 200 without a backend", r.Method, p)
		}
	})
}
