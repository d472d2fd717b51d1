package metadatacheck_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/scopegate/scopegate/internal/metadatacheck"
)

const issuer = "https://auth.example.test"

// validAS is a minimal conformant authorization-server document.
func validAS() map[string]any {
	return map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                issuer + "/authorize",
		"token_endpoint":                        issuer + "/token",
		"jwks_uri":                              issuer + "/jwks",
		"response_types_supported":              []any{"none"},
		"grant_types_supported":                 []any{"client_credentials"},
		"token_endpoint_auth_methods_supported": []any{"client_secret_basic", "private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []any{"RS256"},
		"dpop_signing_alg_values_supported":                []any{"ES256"},
	}
}

func mutate(base map[string]any, kv ...any) []byte {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(base, kv[i].(string))
		} else {
			base[kv[i].(string)] = kv[i+1]
		}
	}
	js, _ := json.Marshal(base)
	return js
}

func TestAuthorizationServerFindsEveryViolation(t *testing.T) {
	if errs := metadatacheck.AuthorizationServer(mutate(validAS()), issuer); len(errs) != 0 {
		t.Fatalf("the valid document fails:%s", metadatacheck.Error(errs))
	}
	for _, tc := range []struct {
		name string
		doc  []byte
		want string
	}{
		{name: "A missing issuer is refused", doc: mutate(validAS(), "issuer", nil), want: "issuer is REQUIRED"},
		{name: "An http issuer is refused", doc: mutate(validAS(), "issuer", "http://auth.example.test"), want: "https"},
		{name: "An issuer with a query is refused", doc: mutate(validAS(), "issuer", issuer+"?x=1"), want: "no query"},
		{name: "Another issuer than the one fetched is refused", doc: mutate(validAS(), "issuer", "https://other.example"), want: "§3.3"},
		{name: "A missing response_types_supported is refused", doc: mutate(validAS(), "response_types_supported", nil), want: "response_types_supported is REQUIRED"},
		{name: "An empty response_types_supported is refused", doc: mutate(validAS(), "response_types_supported", []any{}), want: "zero elements"},
		{name: "A missing token endpoint is refused", doc: mutate(validAS(), "token_endpoint", nil), want: "token_endpoint is REQUIRED"},
		{name: "A missing authorization endpoint is refused when a grant uses it", doc: mutate(validAS(), "authorization_endpoint", nil, "grant_types_supported", []any{"authorization_code"}), want: "authorization_endpoint is REQUIRED"},
		{name: "A missing authorization endpoint is refused when grant types default", doc: mutate(validAS(), "authorization_endpoint", nil, "grant_types_supported", nil), want: "authorization_endpoint is REQUIRED"},
		{name: "An http jwks_uri is refused", doc: mutate(validAS(), "jwks_uri", "http://auth.example.test/jwks"), want: "jwks_uri"},
		{name: "private_key_jwt without signing algorithms is refused", doc: mutate(validAS(), "token_endpoint_auth_signing_alg_values_supported", nil), want: "token_endpoint_auth_signing_alg_values_supported MUST be present"},
		{name: "private_key_jwt at introspection without its algorithms is refused", doc: mutate(validAS(), "introspection_endpoint_auth_methods_supported", []any{"private_key_jwt"}), want: "introspection_endpoint_auth_signing_alg_values_supported MUST be present"},
		{name: "client_secret_jwt at revocation without its algorithms is refused", doc: mutate(validAS(), "revocation_endpoint_auth_methods_supported", []any{"client_secret_jwt"}), want: "revocation_endpoint_auth_signing_alg_values_supported MUST be present"},
		{name: "A none signing algorithm is refused", doc: mutate(validAS(), "token_endpoint_auth_signing_alg_values_supported", []any{"none"}), want: "MUST NOT hold none"},
		{name: "A symmetric DPoP algorithm is refused", doc: mutate(validAS(), "dpop_signing_alg_values_supported", []any{"HS256"}), want: "symmetric"},
		{name: "A non-boolean tls_client_certificate_bound_access_tokens is refused", doc: mutate(validAS(), "tls_client_certificate_bound_access_tokens", "true"), want: "must be a boolean"},
		{name: "A list that is not an array is refused", doc: mutate(validAS(), "scopes_supported", "mcp"), want: "must be a JSON array"},
		{name: "An endpoint with a fragment is refused", doc: mutate(validAS(), "token_endpoint", issuer+"/token#x"), want: "fragment"},
		{name: "A document that is not an object is refused", doc: []byte(`[]`), want: "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := metadatacheck.AuthorizationServer(tc.doc, issuer)
			if !strings.Contains(metadatacheck.Error(errs), tc.want) {
				t.Fatalf("violations%s\nlack %q", metadatacheck.Error(errs), tc.want)
			}
		})
	}
}

const resource = "https://gw.example.test/mcp/github"

func validPR() map[string]any {
	return map[string]any{
		"resource":                 resource,
		"authorization_servers":    []any{issuer},
		"scopes_supported":         []any{"mcp"},
		"bearer_methods_supported": []any{"header"},
	}
}

func TestProtectedResourceFindsEveryViolation(t *testing.T) {
	if errs := metadatacheck.ProtectedResource(mutate(validPR()), resource); len(errs) != 0 {
		t.Fatalf("the valid document fails:%s", metadatacheck.Error(errs))
	}
	if errs := metadatacheck.ProtectedResource(mutate(validPR(), "bearer_methods_supported", []any{}), resource); len(errs) != 0 {
		t.Fatalf("an empty bearer_methods_supported, which RFC 9728 §2 allows, fails:%s", metadatacheck.Error(errs))
	}
	for _, tc := range []struct {
		name string
		doc  []byte
		want string
	}{
		{name: "A missing resource is refused", doc: mutate(validPR(), "resource", nil), want: "resource is REQUIRED"},
		{name: "An http resource is refused", doc: mutate(validPR(), "resource", "http://gw.example.test/mcp/github"), want: "https"},
		{name: "Another resource than the one fetched is refused", doc: mutate(validPR(), "resource", resource+"/x"), want: "§3.3"},
		{name: "An authorization server with a fragment is refused", doc: mutate(validPR(), "authorization_servers", []any{issuer + "#f"}), want: "no fragment"},
		{name: "An unknown bearer method is refused", doc: mutate(validPR(), "bearer_methods_supported", []any{"cookie"}), want: "not one of header"},
		{name: "An empty scopes_supported is refused", doc: mutate(validPR(), "scopes_supported", []any{}), want: "zero elements"},
		{name: "A none resource signing algorithm is refused", doc: mutate(validPR(), "resource_signing_alg_values_supported", []any{"none"}), want: "MUST NOT hold none"},
		{name: "A non-boolean dpop_bound_access_tokens_required is refused", doc: mutate(validPR(), "dpop_bound_access_tokens_required", "yes"), want: "must be a boolean"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := metadatacheck.ProtectedResource(tc.doc, resource)
			if !strings.Contains(metadatacheck.Error(errs), tc.want) {
				t.Fatalf("violations%s\nlack %q", metadatacheck.Error(errs), tc.want)
			}
		})
	}
}
