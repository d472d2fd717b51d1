package gateway

import (
	"net/http"
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
	// DPoPSigningAlgValuesSupported are the algorithms DPoP proofs may use
	// here (RFC 9728 §2).
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported"`
	// DPoPBoundAccessTokensRequired: the route accepts only DPoP-bound
	// tokens (RFC 9728 §2; omitted, it means false).
	DPoPBoundAccessTokensRequired bool `json:"dpop_bound_access_tokens_required,omitempty"`
	// TLSClientCertificateBoundAccessTokens: certificate-bound tokens
	// (RFC 8705) are accepted here (RFC 9728 §2).
	TLSClientCertificateBoundAccessTokens bool `json:"tls_client_certificate_bound_access_tokens,omitempty"`
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
// for the route whose prefix is exactly <prefix> (decideMetadata decided
// that). The document is public and carries CORS headers for browser-based
// MCP clients.
func (g *Gateway) serveMetadata(w http.ResponseWriter, rt *Route) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, resourceMetadata{
		Resource:               g.resourceURL(rt.PathPrefix),
		AuthorizationServers:   []string{g.issuer},
		ScopesSupported:        rt.RequiredScopes,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           rt.Key,

		DPoPSigningAlgValuesSupported: g.dpop.Algorithms(),
		DPoPBoundAccessTokensRequired: rt.RequireDPoP,

		TLSClientCertificateBoundAccessTokens: g.clientCerts,
	})
}
