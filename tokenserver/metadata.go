package tokenserver

import (
	"net/http"
	"slices"

	"github.com/scopegate/scopegate/internal/scope"
)

// metadataDoc is RFC 8414 §2 authorization-server metadata.
//
// authorization_endpoint and response_types_supported are there for the
// MCP TypeScript SDK, whose discovery schema (OAuthMetadataSchema) requires
// both even for client_credentials; the endpoint answers
// unsupported_response_type and the list is empty, which is the truth.
// openid-configuration is not served: scopegate is not an OpenID provider;
// openid-client v6 discovers this document with `algorithm: 'oauth2'`.
type metadataDoc struct {
	Issuer                               string   `json:"issuer"`
	AuthorizationEndpoint                string   `json:"authorization_endpoint"`
	TokenEndpoint                        string   `json:"token_endpoint"`
	JWKSURI                              string   `json:"jwks_uri"`
	IntrospectionEndpoint                string   `json:"introspection_endpoint"`
	RevocationEndpoint                   string   `json:"revocation_endpoint"`
	GrantTypesSupported                  []string `json:"grant_types_supported"`
	ResponseTypesSupported               []string `json:"response_types_supported"`
	TokenEndpointAuthMethodsSupported    []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods     []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods        []string `json:"revocation_endpoint_auth_methods_supported"`
	ScopesSupported                      []string `json:"scopes_supported"`
	AccessTokenSigningAlgValuesSupported []string `json:"access_token_signing_alg_values_supported"`
	ResourceIndicatorsSupported          bool     `json:"resource_indicators_supported"`
}

var clientAuthMethods = []string{"client_secret_basic", "client_secret_post"}

// authMethodAssertion is how the metadata names client authentication with
// a projected ServiceAccount token: RFC 7523 §2.2 names no method, and
// private_key_jwt (OpenID Connect Core §9, registered in the IANA OAuth
// registry) is the registered name for an asymmetrically signed JWT
// assertion, which a ServiceAccount token is (signed by the cluster's
// service-account key, verified through the TokenReview API).
const authMethodAssertion = "private_key_jwt"

func (s *Server) handleMetadata(w http.ResponseWriter, _ *http.Request) {
	iss := s.opts.Issuer
	methods, grants := clientAuthMethods, []string{GrantClientCredentials}
	if s.opts.Workloads != nil {
		methods = append(slices.Clone(clientAuthMethods), authMethodAssertion)
		grants = append(grants, GrantTokenExchange)
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, metadataDoc{
		Issuer:                               iss,
		AuthorizationEndpoint:                iss + PathAuthorize,
		TokenEndpoint:                        iss + PathToken,
		JWKSURI:                              iss + PathJWKS,
		IntrospectionEndpoint:                iss + PathIntrospect,
		RevocationEndpoint:                   iss + PathRevoke,
		GrantTypesSupported:                  grants,
		ResponseTypesSupported:               []string{},
		TokenEndpointAuthMethodsSupported:    methods,
		IntrospectionEndpointAuthMethods:     methods,
		RevocationEndpointAuthMethods:        methods,
		ScopesSupported:                      scope.BuiltIns(),
		AccessTokenSigningAlgValuesSupported: []string{"ES256"},
		ResourceIndicatorsSupported:          true,
	})
}

// handleAuthorize refuses every authorization request: no grant served
// here uses the authorization endpoint (RFC 6749 §4.1.2.1). It exists
// because some clients require the metadata to name one.
func (s *Server) handleAuthorize(w http.ResponseWriter, _ *http.Request) {
	writeError(w, badRequest(ErrCodeUnsupportedResponseType, "only the client_credentials grant is supported"))
}

// handleJWKS serves the published public keys (RFC 7517 §5). Short caching
// is safe: a key is published PrePublish before it signs.
func (s *Server) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, s.opts.Keys.JWKS())
}
