package gateway

import (
	"io"
	"testing"

	"github.com/scopegate/scopegate/internal/metadatacheck"
)

func TestProtectedResourceMetadataConformsToRFC9728(t *testing.T) {
	f := newFixture(t)
	be := echoBackend(t, "github")
	f.gw.Table().Set(githubRoute(t, be.URL))
	f.gw.Table().Set(&Route{Key: "team-a/open", PathPrefix: "/open", Endpoints: githubRoute(t, be.URL).Endpoints, AllowAnonymous: true})
	f.gw.Table().Set(&Route{Key: "team-a/bound", PathPrefix: "/bound", Endpoints: githubRoute(t, be.URL).Endpoints, RequiredScopes: []string{"mcp"}, RequireDPoP: true})

	for _, tc := range []struct{ name, path, resource string }{
		{name: "A route with required scopes conforms", path: "/.well-known/oauth-protected-resource/mcp/github", resource: "https://gw.example/mcp/github"},
		{name: "A route without required scopes omits scopes_supported and conforms", path: "/.well-known/oauth-protected-resource/open", resource: "https://gw.example/open"},
		{name: "A route that requires DPoP conforms", path: "/.well-known/oauth-protected-resource/bound", resource: "https://gw.example/bound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.do(t, "GET", tc.path, "", nil)
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, Content-Type %q: %s", res.StatusCode, res.Header.Get("Content-Type"), body)
			}
			if errs := metadatacheck.ProtectedResource(body, tc.resource); len(errs) != 0 {
				t.Fatalf("the metadata breaks RFC 9728:%s\n%s", metadatacheck.Error(errs), body)
			}
		})
	}
}
