package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/testenv"
	"github.com/scopegate/scopegate/tokenserver"
	"github.com/scopegate/scopegate/tokenserver/keys"
	"github.com/scopegate/scopegate/tokenserver/revocation"
)

type fixture struct {
	api  http.Handler
	srv  *tokenserver.Server
	revs *revocation.Memory
}

func newFixture(t *testing.T, clients int) *fixture {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	reg := registry.New()
	for _, id := range []string{"ops.admin", "ops.viewer", "ops.wrongaud"} {
		reg.Upsert(&registry.Client{ID: id, Subject: registry.SubjectFor(id), Scopes: []string{"admin", "mcp"}})
	}
	ring, err := keys.NewMemoryRing(keys.Policy{}, now)
	if err != nil {
		t.Fatal(err)
	}
	revs := revocation.NewMemory(now)
	srv, err := tokenserver.New(tokenserver.Options{Issuer: "https://issuer.test", Registry: reg, Keys: ring, Revocations: revs, Now: now, Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Options{Verifier: srv, Registry: reg, Issuer: "https://issuer.test", GatewayURL: "https://gw.test", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var objs []scopegatev1alpha1.OAuthClient
	for i := range clients {
		objs = append(objs, scopegatev1alpha1.OAuthClient{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: fmt.Sprintf("client-%02d", i)},
			Spec: scopegatev1alpha1.OAuthClientSpec{Scopes: []scopegatev1alpha1.Scope{"mcp"},
				TokenSecret: &scopegatev1alpha1.TokenSecretSpec{}},
		})
	}
	b := fake.NewClientBuilder().WithScheme(testenv.Scheme())
	for i := range objs {
		b = b.WithObjects(&objs[i])
	}
	b = b.WithObjects(&scopegatev1alpha1.GatewayRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "github"},
		Spec: scopegatev1alpha1.GatewayRouteSpec{PathPrefix: "/mcp/github", Protocol: "MCP",
			Backend: scopegatev1alpha1.Backend{URL: "http://127.0.0.1:1"}, RequiredScopes: []scopegatev1alpha1.Scope{"mcp"}},
	})
	api, err := New(Options{Verifier: srv, Reader: b.Build(), Keys: ring, Revocations: revs, Explainer: gw, Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{api: api.Wrap(gw), srv: srv, revs: revs}
}

func (f *fixture) token(t *testing.T, client string, scopes, aud []string) string {
	t.Helper()
	tok, err := f.srv.Issue(t.Context(), accesstoken.IssueRequest{ClientID: client, Scopes: scopes, Audiences: aud})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Raw
}

func (f *fixture) call(t *testing.T, method, target, token, body string) (*http.Response, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	f.api.ServeHTTP(w, r)
	out := map[string]any{}
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Result(), out
}

func TestTheAdminAPINeedsAnAdminToken(t *testing.T) {
	f := newFixture(t, 1)
	admin := f.token(t, "ops.admin", []string{"admin"}, []string{"admin"})
	cases := []struct {
		name, token string
		status      int
		err         string
	}{
		{"no token is 401", "", 401, "unauthorized"},
		{"a forged token is 401 invalid_token", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA", 401, "invalid_token"},
		{"a token without the admin scope is 403", f.token(t, "ops.viewer", []string{"mcp"}, []string{"admin"}), 403, "insufficient_scope"},
		{"an admin token for another audience is 403", f.token(t, "ops.wrongaud", []string{"admin"}, []string{"mcp"}), 403, "insufficient_scope"},
		{"an admin token for the admin audience is 200", admin, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"/admin/v1/clients", "/admin/v1/routes", "/admin/v1/keys", "/admin/v1/revocations"} {
				res, body := f.call(t, http.MethodGet, path, c.token, "")
				if res.StatusCode != c.status {
					t.Fatalf("%s: status %d, want %d", path, res.StatusCode, c.status)
				}
				if c.err != "" {
					if body["error"] != c.err || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), `Bearer realm="scopegate-admin"`) {
						t.Errorf("%s: error %v, WWW-Authenticate %q", path, body["error"], res.Header.Get("WWW-Authenticate"))
					}
				}
				if res.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("%s: Cache-Control %q", path, res.Header.Get("Cache-Control"))
				}
			}
		})
	}
	t.Run("other paths still reach the gateway", func(t *testing.T) {
		res, body := f.call(t, http.MethodGet, "/mcp/nothing", "", "")
		if res.StatusCode != 404 || body["error"] != "not_found" {
			t.Errorf("status %d body %v", res.StatusCode, body)
		}
	})
}

func TestClientsArePaginated(t *testing.T) {
	f := newFixture(t, 5)
	admin := f.token(t, "ops.admin", []string{"admin"}, []string{"admin"})
	var names []string
	next, pages := "", 0
	for {
		target := "/admin/v1/clients?limit=2"
		if next != "" {
			target += "&continue=" + next
		}
		res, body := f.call(t, http.MethodGet, target, admin, "")
		if res.StatusCode != 200 {
			t.Fatalf("status %d: %v", res.StatusCode, body)
		}
		items := body["items"].([]any)
		if len(items) > 2 {
			t.Fatalf("a page of %d items with limit 2", len(items))
		}
		for _, it := range items {
			m := it.(map[string]any)
			names = append(names, m["name"].(string))
			if m["clientId"] != "team-a."+m["name"].(string) || m["clientAuthentication"] != "secret" {
				t.Errorf("item %v", m)
			}
		}
		pages++
		c, _ := body["continue"].(string)
		if c == "" {
			break
		}
		next = c
	}
	if got := strings.Join(names, ","); got != "client-00,client-01,client-02,client-03,client-04" || pages != 3 {
		t.Errorf("names %s over %d pages", got, pages)
	}
	for _, bad := range []string{"?limit=0", "?limit=x", "?continue=%25%25"} {
		if res, _ := f.call(t, http.MethodGet, "/admin/v1/clients"+bad, admin, ""); res.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400", bad, res.StatusCode)
		}
	}
}

func TestAnswersHoldNoSecretMaterial(t *testing.T) {
	f := newFixture(t, 2)
	admin := f.token(t, "ops.admin", []string{"admin"}, []string{"admin"})
	for _, path := range []string{"/admin/v1/clients", "/admin/v1/routes", "/admin/v1/keys", "/admin/v1/revocations"} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Header.Set("Authorization", "Bearer "+admin)
		w := httptest.NewRecorder()
		f.api.ServeHTTP(w, r)
		body := w.Body.String()
		if strings.Contains(body, admin) {
			t.Errorf("%s echoes the caller's token", path)
		}
		for _, bad := range []string{"client_secret", "sha256", "digest", `"d":`, "private"} {
			if strings.Contains(strings.ToLower(body), bad) {
				t.Errorf("%s answers with %q: %s", path, bad, body)
			}
		}
	}
}

func TestKeysRoutesRevocationsAndExplain(t *testing.T) {
	f := newFixture(t, 0)
	admin := f.token(t, "ops.admin", []string{"admin"}, []string{"admin"})
	_, keysBody := f.call(t, http.MethodGet, "/admin/v1/keys", admin, "")
	items := keysBody["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["state"] != "active" || items[0].(map[string]any)["kid"] == "" {
		t.Errorf("keys %v", keysBody)
	}
	_, routes := f.call(t, http.MethodGet, "/admin/v1/routes", admin, "")
	r0 := routes["items"].([]any)[0].(map[string]any)
	if r0["pathPrefix"] != "/mcp/github" || r0["protocol"] != "MCP" || r0["scopeMatch"] != "Any" {
		t.Errorf("routes %v", routes)
	}
	if err := f.revs.Revoke(t.Context(), "jti-1", time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	_, revs := f.call(t, http.MethodGet, "/admin/v1/revocations", admin, "")
	if revs["count"] != 1.0 || revs["oldestExpiry"] != "2026-01-02T04:00:00Z" {
		t.Errorf("revocations %v", revs)
	}
	res, x := f.call(t, http.MethodPost, "/admin/v1/explain", admin, `{"method":"GET","path":"/mcp/unknown","token":"`+admin+`"}`)
	if res.StatusCode != 200 || x["decision"] != "deny" || x["reason"] != "no_route" || x["status"] != 404.0 {
		t.Errorf("explain: %d %v", res.StatusCode, x)
	}
	for _, bad := range []string{`{"path":"/x","bogus":1}`, `not json`, `{"path":"relative"}`} {
		if res, _ := f.call(t, http.MethodPost, "/admin/v1/explain", admin, bad); res.StatusCode != 400 {
			t.Errorf("explain %s: status %d, want 400", bad, res.StatusCode)
		}
	}
}

// The admin API reads Authorization headers with the gateway's parser, so a
// header is malformed (400), absent (401) or a token on both, alike.
func TestTheAdminAPIReadsBearerHeadersAsTheGatewayDoes(t *testing.T) {
	f := newFixture(t, 1)
	admin := f.token(t, "ops.admin", []string{"admin"}, []string{"admin"})
	cases := []struct {
		name    string
		headers []string
		status  int
	}{
		{"a token outside the b64token syntax is 400", []string{"Bearer a b"}, 400},
		{"Bearer without a token is 400", []string{"Bearer"}, 400},
		{"two Authorization fields are 400", []string{"Bearer " + admin, "Bearer " + admin}, 400},
		{"another scheme is no bearer token: 401", []string{"Basic b3BzOnNlY3JldA=="}, 401},
		{"the scheme is case-insensitive", []string{"bearer " + admin}, 200},
		{"several spaces may follow the scheme", []string{"Bearer   " + admin}, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/admin/v1/keys", nil)
			for _, h := range c.headers {
				r.Header.Add("Authorization", h)
			}
			_, creds := gateway.BearerToken(r)
			w := httptest.NewRecorder()
			f.api.ServeHTTP(w, r)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d", w.Code, c.status)
			}
			want := map[int]gateway.Credentials{400: gateway.MalformedBearer, 401: gateway.NoBearer, 200: gateway.Bearer}[c.status]
			if creds != want {
				t.Errorf("the gateway's parser says %v, the admin API answered %d", creds, w.Code)
			}
		})
	}
}
