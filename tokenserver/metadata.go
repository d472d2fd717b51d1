package tokenserver

import (
	"net/http"
	"slices"

	"github.com/scopegate/scopegate/internal/scope"
	"github.com/scopegate/scopegate/tokenserver/keys"
)

// metadataDoc is RFC 8414 §2 authorization-server metadata.
//
// authorization_endpoint and response_types_supported are there for the
// MCP TypeScript SDK, whose discovery schema (OAuthMetadataSchema) requires
// both even for client_credentials. RFC 8414 §2 makes
// response_types_supported REQUIRED with no exception, and §3.2 says a
// member with zero elements MUST be omitted, so neither [] (what was
// published before; strict validators such as authlib's read it as
// missing) nor leaving it out is conformant for a server without
// authorization grants (RFC Errata 7793 reports exactly this gap). The
// list is ["none"]: "none" is the registered response type (OAuth 2.0
// Multiple Response Type Encoding Practices §4) whose successful answer
// carries no code and no token, and the authorization endpoint handles it
// as such: with no resource owners it always denies (access_denied).
// "code" or "token" would advertise grants that do not exist.
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
	TokenEndpointAuthSigningAlgs         []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	IntrospectionEndpointAuthMethods     []string `json:"introspection_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthSigningAlgs []string `json:"introspection_endpoint_auth_signing_alg_values_supported,omitempty"`
	RevocationEndpointAuthMethods        []string `json:"revocation_endpoint_auth_methods_supported"`
	RevocationEndpointAuthSigningAlgs    []string `json:"revocation_endpoint_auth_signing_alg_values_supported,omitempty"`
	ScopesSupported                      []string `json:"scopes_supported"`
	AccessTokenSigningAlgValuesSupported []string `json:"access_token_signing_alg_values_supported"`
	ResourceIndicatorsSupported          bool     `json:"resource_indicators_supported"`
	// DPoPSigningAlgValuesSupported is RFC 9449 §5.1.
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported"`
	// TLSClientCertificateBoundAccessTokens is RFC 8705 §3.3: tokens may
	// be bound to client certificates (Options.ClientCertificates).
	TLSClientCertificateBoundAccessTokens bool `json:"tls_client_certificate_bound_access_tokens,omitempty"`
}

var clientAuthMethods = []string{"client_secret_basic", "client_secret_post"}

// authMethodAssertion is how the metadata names client authentication with
// a projected ServiceAccount token: RFC 7523 §2.2 names no method, and
// private_key_jwt (OpenID Connect Core §9, registered in the IANA OAuth
// registry) is the registered name for an asymmetrically signed JWT
// assertion, which a ServiceAccount token is (signed by the cluster's
// service-account key, verified through the TokenReview API).
const authMethodAssertion = "private_key_jwt"

// assertionSigningAlgs are the algorithms of a ServiceAccount token, the
// only client assertion accepted: what the Kubernetes API server signs
// with (RS256 for an RSA service-account key; ES256, ES384 or ES512 for a
// P-256, P-384 or P-521 key; the same four for an external signer,
// k8s.io/kubernetes pkg/serviceaccount). scopegate does not verify the
// signature itself, TokenReview does; RFC 8414 §2 requires the list
// whenever private_key_jwt is listed, and RS256, which it says servers
// SHOULD support, is in it.
var assertionSigningAlgs = []string{"RS256", "ES256", "ES384", "ES512"}

// responseTypeNone is the only response type listed (see metadataDoc).
const responseTypeNone = "none"

func (s *Server) handleMetadata(w http.ResponseWriter, _ *http.Request) {
	iss := s.opts.Issuer
	methods, grants := clientAuthMethods, []string{GrantClientCredentials}
	var assertionAlgs []string
	if s.opts.Workloads != nil {
		methods = append(slices.Clone(clientAuthMethods), authMethodAssertion)
		grants = append(grants, GrantTokenExchange)
		assertionAlgs = assertionSigningAlgs
	}
	if s.opts.ClientCertificates {
		methods = append(slices.Clone(methods), authMethodTLS)
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
		ResponseTypesSupported:               []string{responseTypeNone},
		TokenEndpointAuthMethodsSupported:    methods,
		TokenEndpointAuthSigningAlgs:         assertionAlgs,
		IntrospectionEndpointAuthMethods:     methods,
		IntrospectionEndpointAuthSigningAlgs: assertionAlgs,
		RevocationEndpointAuthMethods:        methods,
		RevocationEndpointAuthSigningAlgs:    assertionAlgs,
		ScopesSupported:                      scope.BuiltIns(),
		AccessTokenSigningAlgValuesSupported: []string{keys.Algorithm},
		ResourceIndicatorsSupported:          true,
		DPoPSigningAlgValuesSupported:        s.dpop.Algorithms(),

		TLSClientCertificateBoundAccessTokens: s.opts.ClientCertificates,
	})
}

// handleAuthorize answers every authorization request without a code or a
// token: no grant served here uses the authorization endpoint. It exists
// because some clients require the metadata to name one. response_type
// none, the one listed, is understood and denied, as no resource owner can
// authorize anything here; any other is unsupported_response_type (RFC
// 6749 §4.1.2.1). No client has a redirection URI, so the error is
// answered directly, never redirected.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("response_type") == responseTypeNone {
		writeError(w, badRequest(ErrCodeAccessDenied, "scopegate has no resource owners to authorize a request; it serves the client_credentials and token-exchange grants at the token endpoint"))
		return
	}
	writeError(w, badRequest(ErrCodeUnsupportedResponseType, "only the client_credentials grant is supported"))
}

// handleJWKS serves the published public keys (RFC 7517 §5). Short caching
// is safe: a key is published PrePublish before it signs.
func (s *Server) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, s.opts.Keys.JWKS())
}
