package tokenserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/tokenserver/workload"
)

// fakeWorkloads stands in for the TokenReview API (the envtest suite of
// package workload uses the real one): a token is the string "sa:<ns>:<name>",
// "down" when the API server is unreachable, anything else refused.
type fakeWorkloads struct{ calls atomic.Int32 }

func (f *fakeWorkloads) Authenticate(_ context.Context, token string) (workload.Identity, error) {
	f.calls.Add(1)
	if token == "down" {
		return workload.Identity{}, fmt.Errorf("%w: connection refused", workload.ErrUnavailable)
	}
	parts := strings.Split(token, ":")
	if len(parts) != 3 || parts[0] != "sa" {
		return workload.Identity{}, fmt.Errorf("%w: not a token", workload.ErrNotAuthenticated)
	}
	return workload.Identity{Namespace: parts[1], Name: parts[2]}, nil
}

// newWorkloadFixture has a secretless client team-w.agent bound to the
// ServiceAccount team-w/agent and allowed the token exchange.
func newWorkloadFixture(t *testing.T) (*fixture, *fakeWorkloads) {
	wl := &fakeWorkloads{}
	f := newFixture(t, func(o *Options) { o.Workloads = wl })
	f.reg.Upsert(&registry.Client{
		ID: "team-w.agent", Namespace: "team-w", Name: "agent", Subject: registry.SubjectFor("team-w.agent"),
		Scopes: []string{"mcp", "mcp:github:read"}, GrantTypes: []string{GrantClientCredentials, GrantTokenExchange},
		ServiceAccounts: []string{"agent"}, Created: f.clock.Now(),
	})
	return f, wl
}

func assertion(token string, kv ...string) url.Values {
	return form(append([]string{"client_assertion_type", ClientAssertionTypeJWT, "client_assertion", token}, kv...)...)
}

func decodeBody(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return out
}

func TestClientAssertion(t *testing.T) {
	cc := []string{"grant_type", GrantClientCredentials, "scope", "mcp"}
	cases := []struct {
		name   string
		form   url.Values
		hdr    map[string]string
		setup  func(*fixture)
		status int
		err    string
	}{
		{name: "a bound ServiceAccount's token gets the client's token", form: assertion("sa:team-w:agent", cc...), status: 200},
		{name: "a matching client_id is accepted", form: assertion("sa:team-w:agent", append(cc, "client_id", "team-w.agent")...), status: 200},
		{name: "a different client_id is invalid_client", form: assertion("sa:team-w:agent", append(cc, "client_id", "team-a.alpha")...), status: 401, err: "invalid_client"},
		{name: "an unbound ServiceAccount is invalid_client", form: assertion("sa:team-w:other", cc...), status: 401, err: "invalid_client"},
		{name: "a ServiceAccount of the same name in another namespace is invalid_client", form: assertion("sa:team-x:agent", cc...), status: 401, err: "invalid_client"},
		{name: "a token the review refuses is invalid_client", form: assertion("garbage", cc...), status: 401, err: "invalid_client"},
		{name: "a suspended client is invalid_client", form: assertion("sa:team-w:agent", cc...), status: 401, err: "invalid_client",
			setup: func(f *fixture) {
				c, _ := f.reg.Get("team-w.agent")
				cp := *c
				cp.Suspended = true
				f.reg.Upsert(&cp)
			}},
		{name: "an unreachable API server is 503, not invalid_client", form: assertion("down", cc...), status: 503, err: "temporarily_unavailable"},
		{name: "an assertion with a client secret is invalid_request", form: assertion("sa:team-w:agent", append(cc, "client_secret", "x")...), status: 400, err: "invalid_request"},
		{name: "an assertion with Basic credentials is invalid_request", form: assertion("sa:team-w:agent", cc...), hdr: basic("team-a.alpha", secretA), status: 400, err: "invalid_request"},
		{name: "an unknown assertion type is invalid_request", form: form(append([]string{"client_assertion_type", "urn:example:saml", "client_assertion", "sa:team-w:agent"}, cc...)...), status: 400, err: "invalid_request"},
		{name: "an assertion without its type is invalid_request", form: form(append([]string{"client_assertion", "sa:team-w:agent"}, cc...)...), status: 400, err: "invalid_request"},
		{name: "a type without an assertion is invalid_request", form: form(append([]string{"client_assertion_type", ClientAssertionTypeJWT}, cc...)...), status: 400, err: "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newWorkloadFixture(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			w := f.post(PathToken, tc.form, tc.hdr)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			body := decodeBody(t, w.Body.Bytes())
			if tc.err != "" {
				if body["error"] != tc.err {
					t.Errorf("error %v, want %s", body["error"], tc.err)
				}
				if tc.status == 503 && w.Header().Get("Retry-After") == "" {
					t.Errorf("503 without Retry-After")
				}
				if strings.Contains(w.Body.String(), "sa:team-w") {
					t.Errorf("the answer echoes the assertion: %s", w.Body)
				}
				return
			}
			c, err := f.srv.Verify(t.Context(), body["access_token"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if c.ClientID != "team-w.agent" || c.Subject != registry.SubjectFor("team-w.agent") || c.Scope != "mcp" {
				t.Errorf("claims client_id %q sub %q scope %q", c.ClientID, c.Subject, c.Scope)
			}
			if c.ServiceAccount != "system:serviceaccount:team-w:agent" {
				t.Errorf("service_account %q", c.ServiceAccount)
			}
			if _, ok := body["issued_token_type"]; ok {
				t.Errorf("client_credentials answered issued_token_type")
			}
		})
	}
}

func TestFailedAssertionsAreRateLimited(t *testing.T) {
	f, _ := newWorkloadFixture(t)
	var last int
	for range DefaultFailedAuthBurst + 1 {
		last = f.post(PathToken, assertion("garbage", "grant_type", GrantClientCredentials, "scope", "mcp"), nil).Code
	}
	if last != 429 {
		t.Fatalf("status %d after %d failed assertions from one address, want 429", last, DefaultFailedAuthBurst+1)
	}
}

func TestAssertionsWorkAtIntrospectionAndRevocation(t *testing.T) {
	f, _ := newWorkloadFixture(t)
	raw := f.issue("team-w.agent", "mcp")
	w := f.post(PathIntrospect, assertion("sa:team-w:agent", "token", raw), nil)
	if w.Code != 200 || decodeBody(t, w.Body.Bytes())["active"] != true {
		t.Fatalf("introspection with an assertion: %d %s", w.Code, w.Body)
	}
	if w := f.post(PathRevoke, assertion("sa:team-w:agent", "token", raw), nil); w.Code != 200 {
		t.Fatalf("revocation with an assertion: %d %s", w.Code, w.Body)
	}
	if _, err := f.srv.Verify(t.Context(), raw); err == nil {
		t.Fatal("the token revoked with an assertion still verifies")
	}
}

func TestTokenExchange(t *testing.T) {
	ex := func(subject string, kv ...string) url.Values {
		return form(append([]string{"grant_type", GrantTokenExchange, "subject_token", subject, "subject_token_type", TokenTypeJWT}, kv...)...)
	}
	cases := []struct {
		name   string
		form   url.Values
		hdr    map[string]string
		setup  func(*fixture)
		status int
		err    string
		scope  string
		aud    []string
	}{
		{name: "a bound ServiceAccount token without scope gets every allowed scope", form: ex("sa:team-w:agent"), status: 200, scope: "mcp mcp:github:read", aud: []string{"api", "mcp", "a2a"}},
		{name: "scope and audience narrow the token as for client_credentials", form: ex("sa:team-w:agent", "scope", "mcp:github:read", "audience", "mcp"), status: 200, scope: "mcp:github:read", aud: []string{"mcp"}},
		{name: "a resource becomes the audience", form: ex("sa:team-w:agent", "scope", "mcp", "resource", "https://gw.example.test/mcp/github"), status: 200, scope: "mcp", aud: []string{"https://gw.example.test/mcp/github"}},
		{name: "requested_token_type access_token is accepted", form: ex("sa:team-w:agent", "requested_token_type", TokenTypeAccessToken), status: 200, scope: "mcp mcp:github:read", aud: []string{"api", "mcp", "a2a"}},
		{name: "a scope the client is not allowed is invalid_scope", form: ex("sa:team-w:agent", "scope", "admin"), status: 400, err: "invalid_scope"},
		{name: "an unbound ServiceAccount is invalid_request", form: ex("sa:team-w:other"), status: 400, err: "invalid_request"},
		{name: "a refused subject token is invalid_request", form: ex("garbage"), status: 400, err: "invalid_request"},
		{name: "a missing subject_token is invalid_request", form: form("grant_type", GrantTokenExchange, "subject_token_type", TokenTypeJWT), status: 400, err: "invalid_request"},
		{name: "another subject_token_type is invalid_request", form: form("grant_type", GrantTokenExchange, "subject_token", "sa:team-w:agent", "subject_token_type", TokenTypeAccessToken), status: 400, err: "invalid_request"},
		{name: "an actor_token is invalid_request", form: ex("sa:team-w:agent", "actor_token", "x", "actor_token_type", TokenTypeJWT), status: 400, err: "invalid_request"},
		{name: "another requested_token_type is invalid_request", form: ex("sa:team-w:agent", "requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"), status: 400, err: "invalid_request"},
		{name: "a client_id of another client is invalid_request", form: ex("sa:team-w:agent", "client_id", "team-a.alpha"), status: 400, err: "invalid_request"},
		{name: "client credentials of another client are invalid_request", form: ex("sa:team-w:agent"), hdr: basic("team-a.alpha", secretA), status: 400, err: "invalid_request"},
		{name: "wrong client credentials are invalid_client", form: ex("sa:team-w:agent"), hdr: basic("team-a.alpha", "wrong"), status: 401, err: "invalid_client"},
		{name: "a client without the grant type is unauthorized_client", form: ex("sa:team-w:agent"), status: 400, err: "unauthorized_client",
			setup: func(f *fixture) {
				c, _ := f.reg.Get("team-w.agent")
				cp := *c
				cp.GrantTypes = []string{GrantClientCredentials}
				f.reg.Upsert(&cp)
			}},
		{name: "a suspended client is invalid_request", form: ex("sa:team-w:agent"), status: 400, err: "invalid_request",
			setup: func(f *fixture) {
				c, _ := f.reg.Get("team-w.agent")
				cp := *c
				cp.Suspended = true
				f.reg.Upsert(&cp)
			}},
		{name: "an unreachable API server is 503", form: ex("down"), status: 503, err: "temporarily_unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newWorkloadFixture(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			w := f.post(PathToken, tc.form, tc.hdr)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			body := decodeBody(t, w.Body.Bytes())
			if tc.err != "" {
				if body["error"] != tc.err {
					t.Errorf("error %v, want %s", body["error"], tc.err)
				}
				return
			}
			if body["issued_token_type"] != TokenTypeAccessToken || body["token_type"] != "Bearer" || body["scope"] != tc.scope {
				t.Errorf("answer %v", body)
			}
			c, err := f.srv.Verify(t.Context(), body["access_token"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if c.ClientID != "team-w.agent" || c.ServiceAccount != "system:serviceaccount:team-w:agent" || !slices.Equal(c.Audience, tc.aud) {
				t.Errorf("client_id %q service_account %q aud %v", c.ClientID, c.ServiceAccount, c.Audience)
			}
			if got := c.ExpiresAt.Sub(c.IssuedAt.Time); got != time.Hour {
				t.Errorf("lifetime %s", got)
			}
		})
	}
}

func TestWithoutWorkloadReviewAssertionsAndExchangeAreOff(t *testing.T) {
	f := newFixture(t)
	if w := f.post(PathToken, assertion("sa:team-a:x", "grant_type", GrantClientCredentials, "scope", "mcp"), nil); w.Code != 401 {
		t.Errorf("assertion: %d %s", w.Code, w.Body)
	}
	w := f.post(PathToken, form("grant_type", GrantTokenExchange, "subject_token", "x", "subject_token_type", TokenTypeJWT), nil)
	if w.Code != 400 || decodeBody(t, w.Body.Bytes())["error"] != ErrCodeUnsupportedGrantType {
		t.Errorf("exchange: %d %s", w.Code, w.Body)
	}
	md := f.get(PathMetadata)
	if slices.Contains(md["grant_types_supported"], GrantTokenExchange) || slices.Contains(md["token_endpoint_auth_methods_supported"], "private_key_jwt") {
		t.Errorf("metadata advertises what is off: %v", md)
	}
}

func TestMetadataAdvertisesAssertionsAndExchange(t *testing.T) {
	f, _ := newWorkloadFixture(t)
	md := f.get(PathMetadata)
	if !slices.Contains(md["grant_types_supported"], GrantTokenExchange) {
		t.Errorf("grant_types_supported %v", md["grant_types_supported"])
	}
	for _, k := range []string{"token_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
		if !slices.Contains(md[k], "private_key_jwt") || !slices.Contains(md[k], "client_secret_basic") {
			t.Errorf("%s %v", k, md[k])
		}
	}
}

// get reads a JSON document of string lists (the metadata) from path.
func (f *fixture) get(path string) map[string][]string {
	f.t.Helper()
	w := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	var raw map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
		f.t.Fatal(err)
	}
	out := map[string][]string{}
	for k, v := range raw {
		if list, ok := v.([]any); ok {
			for _, e := range list {
				if s, ok := e.(string); ok {
					out[k] = append(out[k], s)
				}
			}
		}
	}
	return out
}
