package tokenserver

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/scopegate/scopegate/internal/metadatacheck"
)

func TestMetadataConformsToRFC8414(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fixture func(t *testing.T) *fixture
	}{
		{name: "The metadata with client secrets only conforms", fixture: func(t *testing.T) *fixture { return newFixture(t) }},
		{name: "The metadata with ServiceAccount assertions (private_key_jwt) conforms", fixture: func(t *testing.T) *fixture {
			f, _ := newWorkloadFixture(t)
			return f
		}},
		{name: "The metadata with DPoP nonces required conforms", fixture: func(t *testing.T) *fixture {
			return newFixture(t, func(o *Options) { o.DPoPRequireNonce = true })
		}},
		{name: "The metadata with client certificates (tls_client_auth) conforms", fixture: func(t *testing.T) *fixture {
			return newFixture(t, func(o *Options) { o.ClientCertificates = true })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.fixture(t)
			w := httptest.NewRecorder()
			f.srv.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, PathMetadata, nil))
			// RFC 8414 §3.2: 200 and application/json.
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, Content-Type %q", w.Code, w.Header().Get("Content-Type"))
			}
			if errs := metadatacheck.AuthorizationServer(w.Body.Bytes(), testIssuer); len(errs) != 0 {
				t.Fatalf("the metadata breaks RFC 8414:%s\n%s", metadatacheck.Error(errs), w.Body)
			}
		})
	}
}

func TestMetadataListsTheAssertionAlgorithmsOnlyWithAssertions(t *testing.T) {
	keys := []string{"token_endpoint_auth_signing_alg_values_supported", "introspection_endpoint_auth_signing_alg_values_supported", "revocation_endpoint_auth_signing_alg_values_supported"}
	f, _ := newWorkloadFixture(t)
	md := f.get(PathMetadata)
	for _, k := range keys {
		if got := md[k]; len(got) != 4 || got[0] != "RS256" {
			t.Errorf("%s = %v, want the Kubernetes service-account algorithms RS256, ES256, ES384, ES512", k, got)
		}
	}
	md = newFixture(t).get(PathMetadata)
	for _, k := range keys {
		if _, ok := md[k]; ok {
			t.Errorf("%s listed without private_key_jwt", k)
		}
	}
}

func TestAuthorizationEndpointAnswersWithoutAGrant(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ name, query, err string }{
		{name: "The listed response type none is understood and denied", query: "?response_type=none&client_id=x", err: ErrCodeAccessDenied},
		{name: "response_type code is unsupported", query: "?response_type=code&client_id=x", err: ErrCodeUnsupportedResponseType},
		{name: "No response_type is unsupported", query: "", err: ErrCodeUnsupportedResponseType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			f.srv.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, PathAuthorize+tc.query, nil))
			if got := decodeBody(t, w.Body.Bytes()); w.Code != 400 || got["error"] != tc.err || w.Header().Get("Location") != "" {
				t.Fatalf("status %d %v, Location %q; want 400 %s, not redirected", w.Code, got, w.Header().Get("Location"), tc.err)
			}
		})
	}
}
