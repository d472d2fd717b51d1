package gateway

import (
	"net/http"
	"strings"
)

// WellKnownProtectedResource is the RFC 9728 §3 well-known path segment.
const WellKnownProtectedResource = "/.well-known/oauth-protected-resource"

// resourceMetadata is the protected resource metadata of one route
// (RFC 9728 §2).
type resourceMetadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ResourceName           string   `json:"resource_name,omitempty"`
}

// resourceURL is a route's resource identifier: <gateway-url><pathPrefix>.
func (g *Gateway) resourceURL(prefix string) string {
	return g.gatewayURL + prefix
}

// metadataURL is where a route's metadata is served: the well-known segment
// inserted between the host and the path of the resource identifier
// (RFC 9728 §3.1).
func (g *Gateway) metadataURL(prefix string) string {
	if prefix == "/" {
		return g.gatewayURL + WellKnownProtectedResource
	}
	return g.gatewayURL + WellKnownProtectedResource + prefix
}

// serveMetadata answers GET /.well-known/oauth-protected-resource<prefix>
// for the route whose prefix is exactly <prefix>. RFC 9728 §3.3 requires the
// document's resource to equal the identifier the URL was formed from, which
// clients such as oauth4webapi check, so only exact prefixes are served.
// The document is public and carries CORS headers for browser-based MCP
// clients.
func (g *Gateway) serveMetadata(w http.ResponseWriter, r *http.Request, d *decision) {
	rest := strings.TrimPrefix(r.URL.Path, WellKnownProtectedResource)
	prefix := CleanPrefix(rest)
	e := g.table.exact(prefix)
	if e == nil {
		g.deny(w, d, notFound())
		return
	}
	rt := e.route
	d.route = rt.Key
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		g.deny(w, d, &gatewayError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Description: "use GET", Reason: "method_not_allowed"})
		return
	}
	d.decision, d.reason = decisionAllow, "resource_metadata"
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, resourceMetadata{
		Resource:               g.resourceURL(rt.PathPrefix),
		AuthorizationServers:   []string{g.issuer},
		ScopesSupported:        rt.RequiredScopes,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           rt.Key,
	})
}
