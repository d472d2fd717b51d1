package gateway

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/scopegate/scopegate/internal/registry"
)

const githubMetadata = `resource_metadata="https://gw.example/.well-known/oauth-protected-resource/mcp/github"`

// githubRoute is an MCP route requiring mcp:github:read, on backend be.
func githubRoute(t testing.TB, be string) *Route {
	return &Route{
		Key:            "team-a/github",
		PathPrefix:     "/mcp/github",
		Protocol:       ProtocolMCP,
		Endpoints:      []*url.URL{mustURL(t, be)},
		BackendPath:    "/mcp",
		RequiredScopes: []string{"mcp:github:read"},
	}
}

func TestResponses(t *testing.T) {
	f := newFixture(t)
	be := echoBackend(t, "github")
	f.gw.Table().Set(githubRoute(t, be.URL))

	good := f.token(t, "team-a.github", []string{"mcp", "mcp:github:read"}, []string{"mcp"})
	expired := f.ver.sign(t, tokenSpec{clientID: "team-a.github", scopes: []string{"mcp:github:read"}, aud: []string{"mcp"}, ttl: -time.Minute})
	foreignKey := f.ver.sign(t, tokenSpec{clientID: "team-a.github", scopes: []string{"mcp:github:read"}, aud: []string{"mcp"}, key: newKey(t)})
	foreignIssuer := f.ver.sign(t, tokenSpec{clientID: "team-a.github", scopes: []string{"mcp:github:read"}, aud: []string{"mcp"}, issuer: "https://evil.example"})
	noScope := f.token(t, "team-a.github", []string{"mcp"}, []string{"mcp"})
	wrongAud := f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"api"})

	invalid := `Bearer realm="scopegate", error="invalid_token", error_description="the access token is invalid, expired or revoked", ` + githubMetadata
	malformed := `Bearer realm="scopegate", error="invalid_request", error_description="the Authorization header is malformed", ` + githubMetadata
	cases := []struct {
		name      string
		path      string
		auth      string // full Authorization value
		status    int
		challenge string
		code      string
	}{
		{name: "an unknown path is 404", path: "/nothing/here", auth: "Bearer " + good, status: 404, code: "not_found"},
		{name: "a prefix that only shares characters does not match", path: "/mcp/githubx", auth: "Bearer " + good, status: 404, code: "not_found"},
		{name: "no token is 401 pointing at the resource metadata", path: "/mcp/github", status: 401,
			challenge: `Bearer realm="scopegate", ` + githubMetadata, code: "unauthorized"},
		{name: "Basic credentials count as no token", path: "/mcp/github", auth: "Basic dTpw", status: 401,
			challenge: `Bearer realm="scopegate", ` + githubMetadata, code: "unauthorized"},
		{name: "an empty bearer token is a malformed request (RFC 6750 §3.1 invalid_request)", path: "/mcp/github", auth: "Bearer", status: 400,
			challenge: malformed, code: "invalid_request"},
		{name: "a bearer token with a space inside is a malformed request", path: "/mcp/github", auth: "Bearer " + good + " extra", status: 400,
			challenge: malformed, code: "invalid_request"},
		{name: "a bearer token with characters outside b64token is a malformed request", path: "/mcp/github", auth: "Bearer a,b", status: 400,
			challenge: malformed, code: "invalid_request"},
		{name: "a tab after the scheme is a malformed request", path: "/mcp/github", auth: "Bearer\t" + good, status: 400,
			challenge: malformed, code: "invalid_request"},
		{name: "several spaces after the scheme are allowed (1*SP)", path: "/mcp/github", auth: "Bearer   " + good, status: 200},
		{name: "a scheme that only starts with Bearer counts as no token", path: "/mcp/github", auth: "Bearerx " + good, status: 401,
			challenge: `Bearer realm="scopegate", ` + githubMetadata, code: "unauthorized"},
		{name: "a garbage token is invalid_token", path: "/mcp/github", auth: "Bearer not.a.jwt", status: 401, challenge: invalid, code: "invalid_token"},
		{name: "an expired token is invalid_token", path: "/mcp/github", auth: "Bearer " + expired, status: 401, challenge: invalid, code: "invalid_token"},
		{name: "a token signed by another key is invalid_token", path: "/mcp/github", auth: "Bearer " + foreignKey, status: 401, challenge: invalid, code: "invalid_token"},
		{name: "a token of another issuer is invalid_token", path: "/mcp/github", auth: "Bearer " + foreignIssuer, status: 401, challenge: invalid, code: "invalid_token"},
		{name: "a missing scope is 403 insufficient_scope naming the required scope", path: "/mcp/github/tools", auth: "Bearer " + noScope, status: 403,
			challenge: `Bearer realm="scopegate", error="insufficient_scope", error_description="the token lacks a scope this route requires", scope="mcp:github:read", ` + githubMetadata,
			code:      "insufficient_scope"},
		{name: "a token for another audience is 403 insufficient_scope", path: "/mcp/github", auth: "Bearer " + wrongAud, status: 403,
			challenge: `Bearer realm="scopegate", error="insufficient_scope", error_description="the token is not meant for this route (audience)", scope="mcp:github:read", ` + githubMetadata,
			code:      "insufficient_scope"},
		{name: "the bearer scheme is case-insensitive", path: "/mcp/github", auth: "bearer " + good, status: 200},
		{name: "a good token reaches the backend", path: "/mcp/github/x", auth: "Bearer " + good, status: 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr := http.Header{}
			if tc.auth != "" {
				hdr.Set("Authorization", tc.auth)
			}
			res := f.do(t, http.MethodGet, tc.path, "", hdr)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if got := res.Header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate\n got %s\nwant %s", got, tc.challenge)
			}
			if tc.status == 200 {
				readEcho(t, res)
				return
			}
			if e := readError(t, res); e.Error != tc.code {
				t.Errorf("error %q, want %q", e.Error, tc.code)
			}
		})
	}
}

func TestTwoAuthorizationFieldsAreAMalformedRequest(t *testing.T) {
	f := newFixture(t)
	be := echoBackend(t, "github")
	f.gw.Table().Set(githubRoute(t, be.URL))
	good := f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})
	for _, tc := range []struct {
		name string
		vals []string
	}{
		{name: "two bearer tokens", vals: []string{"Bearer " + good, "Bearer " + good}},
		{name: "basic then bearer", vals: []string{"Basic dTpw", "Bearer " + good}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.do(t, "GET", "/mcp/github", "", http.Header{"Authorization": tc.vals})
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", res.StatusCode)
			}
			if !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_request"`) {
				t.Errorf("challenge %q lacks invalid_request", res.Header.Get("WWW-Authenticate"))
			}
			if e := readError(t, res); e.Error != "invalid_request" {
				t.Errorf("error %q, want invalid_request", e.Error)
			}
		})
	}
	// On an anonymous route a malformed credential is refused too rather
	// than silently dropped.
	f.gw.Table().Set(&Route{Key: "x/pub", PathPrefix: "/pub", Endpoints: []*url.URL{mustURL(t, be.URL)}, AllowAnonymous: true})
	if res := f.do(t, "GET", "/pub", "", http.Header{"Authorization": {"Bearer"}}); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("malformed credentials on an anonymous route: status %d, want 400", res.StatusCode)
	}
}

func TestRevokedTokensAndRemovedClientsAreRefused(t *testing.T) {
	f := newFixture(t)
	be := echoBackend(t, "github")
	f.gw.Table().Set(githubRoute(t, be.URL))

	tok := f.ver.sign(t, tokenSpec{clientID: "team-a.github", scopes: []string{"mcp:github:read"}, aud: []string{"mcp"}, jti: "revoke-me"})
	if res := f.do(t, "GET", "/mcp/github", tok, nil); res.StatusCode != 200 {
		t.Fatalf("before revocation: status %d", res.StatusCode)
	}
	f.ver.revoke("revoke-me")
	if res := f.do(t, "GET", "/mcp/github", tok, nil); res.StatusCode != 401 || !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("revoked token: status %d, challenge %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}

	tok = f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})
	c, _ := f.reg.Get("team-a.github")
	suspended := *c
	suspended.Suspended = true
	f.reg.Upsert(&suspended)
	if res := f.do(t, "GET", "/mcp/github", tok, nil); res.StatusCode != 401 {
		t.Fatalf("suspended client: status %d, want 401", res.StatusCode)
	}
	f.reg.Upsert(c)
	if res := f.do(t, "GET", "/mcp/github", tok, nil); res.StatusCode != 200 {
		t.Fatalf("unsuspended client: status %d, want 200", res.StatusCode)
	}
	f.reg.Delete("team-a.github")
	if res := f.do(t, "GET", "/mcp/github", tok, nil); res.StatusCode != 401 {
		t.Fatalf("deleted client: status %d, want 401", res.StatusCode)
	}
}

func TestScopeMatching(t *testing.T) {
	cases := []struct {
		name     string
		required []string
		all      bool
		held     []string
		allowed  bool
	}{
		{name: "the exact scope satisfies Any", required: []string{"mcp:github:read"}, held: []string{"mcp:github:read"}, allowed: true},
		{name: "one of several satisfies Any", required: []string{"a2a", "mcp:github:read"}, held: []string{"mcp:github:read"}, allowed: true},
		{name: "one of several does not satisfy All", required: []string{"mcp", "mcp:github:read"}, all: true, held: []string{"mcp:github:read"}, allowed: false},
		{name: "all of them satisfy All", required: []string{"mcp", "mcp:github:read"}, all: true, held: []string{"mcp", "mcp:github:read"}, allowed: true},
		{name: "a higher built-in implies a lower one", required: []string{"mcp"}, held: []string{"service"}, allowed: true},
		{name: "a lower built-in does not imply a higher one", required: []string{"a2a"}, held: []string{"mcp"}, allowed: false},
		{name: "a built-in does not imply a custom scope", required: []string{"mcp:github:read"}, held: []string{"user"}, allowed: false},
		{name: "admin implies a custom scope", required: []string{"mcp:github:read"}, held: []string{"admin"}, allowed: true},
		{name: "admin satisfies All", required: []string{"mcp", "mcp:github:read"}, all: true, held: []string{"admin"}, allowed: true},
		{name: "no required scopes admit any token", required: nil, held: []string{"anonymous"}, allowed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			be := echoBackend(t, "b")
			rt := githubRoute(t, be.URL)
			rt.RequiredScopes, rt.ScopeMatchAll = tc.required, tc.all
			f.gw.Table().Set(rt)
			res := f.do(t, "GET", "/mcp/github", f.token(t, "team-a.github", tc.held, []string{"mcp"}), nil)
			want := http.StatusForbidden
			if tc.allowed {
				want = http.StatusOK
			}
			if res.StatusCode != want {
				t.Fatalf("status %d, want %d", res.StatusCode, want)
			}
			if !tc.allowed {
				wantScope := `scope="` + strings.Join(tc.required, " ") + `"`
				if got := res.Header.Get("WWW-Authenticate"); !strings.Contains(got, wantScope) {
					t.Errorf("challenge %q lacks %s", got, wantScope)
				}
			}
		})
	}
}

func TestAudiences(t *testing.T) {
	cases := []struct {
		name      string
		protocol  Protocol
		audiences []string
		aud       []string
		allowed   bool
	}{
		{name: "an HTTP route accepts api by default", protocol: ProtocolHTTP, aud: []string{"api"}, allowed: true},
		{name: "an HTTP route refuses mcp by default", protocol: ProtocolHTTP, aud: []string{"mcp"}, allowed: false},
		{name: "an MCP route accepts mcp by default", protocol: ProtocolMCP, aud: []string{"mcp"}, allowed: true},
		{name: "an A2A route accepts a2a by default", protocol: ProtocolA2A, aud: []string{"a2a"}, allowed: true},
		{name: "an A2A route refuses api by default", protocol: ProtocolA2A, aud: []string{"api"}, allowed: false},
		{name: "any route accepts its resource URL by default", protocol: ProtocolMCP, aud: []string{"https://gw.example/svc"}, allowed: true},
		{name: "the resource URL with a trailing slash is the same resource", protocol: ProtocolMCP, aud: []string{"https://gw.example/svc/"}, allowed: true},
		{name: "another route's resource URL is refused", protocol: ProtocolMCP, aud: []string{"https://gw.example/other"}, allowed: false},
		{name: "one matching audience among several suffices", protocol: ProtocolHTTP, aud: []string{"hook", "api"}, allowed: true},
		{name: "explicit audiences replace the defaults", protocol: ProtocolMCP, audiences: []string{"github"}, aud: []string{"mcp"}, allowed: false},
		{name: "an explicit audience is accepted", protocol: ProtocolMCP, audiences: []string{"github"}, aud: []string{"github"}, allowed: true},
		{name: "a token without aud is refused", protocol: ProtocolHTTP, aud: nil, allowed: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			be := echoBackend(t, "b")
			f.gw.Table().Set(&Route{Key: "ns/svc", PathPrefix: "/svc", Protocol: tc.protocol, Audiences: tc.audiences,
				Endpoints: []*url.URL{mustURL(t, be.URL)}, RequiredScopes: []string{"mcp"}})
			res := f.do(t, "POST", "/svc/x", f.token(t, "team-a.github", []string{"mcp"}, tc.aud), nil)
			want := http.StatusForbidden
			if tc.allowed {
				want = http.StatusOK
			}
			if res.StatusCode != want {
				t.Fatalf("status %d, want %d", res.StatusCode, want)
			}
		})
	}
}

func TestForwardedHeaders(t *testing.T) {
	f := newFixture(t)
	be := echoBackend(t, "github")
	f.gw.Table().Set(githubRoute(t, be.URL))
	tok := f.token(t, "team-a.github", []string{"mcp", "mcp:github:read"}, []string{"mcp"})

	spoofed := http.Header{
		"X-User-Id":          {"root"},
		"X_User_Id":          {"root"},
		"x-proxy-verified":   {"true"},
		"X_proxy_verified":   {"true"},
		"X-Client-Id":        {"team-b.admin"},
		"X-User-Permissions": {"admin"},
		"X-Trace-Id":         {"spoofed"},
		"X-Forwarded-For":    {"203.0.113.99"},
		"Mcp-Session-Id":     {"sess-1"},
		"Traceparent":        {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	}
	res := f.do(t, "POST", "/mcp/github/tools/list?cursor=2", tok, spoofed)
	if got := res.Header.Get("Mcp-Session-Id"); got != "sess-1-echo" {
		t.Errorf("response Mcp-Session-Id %q, want the backend's", got)
	}
	e := readEcho(t, res)
	checks := map[string]string{
		"Authorization":      "",
		"X-User-Id":          registry.SubjectFor("team-a.github"),
		"X-Client-Id":        "team-a.github",
		"X-User-Permissions": "mcp,mcp:github:read",
		"X-Proxy-Verified":   "true",
		"X-Trace-Id":         "4bf92f3577b34da6a3ce929d0e0e4736",
		"X-Forwarded-For":    "192.0.2.10",
		"X-Forwarded-Host":   "gw.example",
		"X-Forwarded-Proto":  "http",
		"Mcp-Session-Id":     "sess-1",
	}
	for k := range e.Header {
		if strings.Contains(k, "_") {
			t.Errorf("backend saw the underscore spelling %s", k)
		}
	}
	for k, want := range checks {
		if got := strings.Join(e.Header.Values(k), "|"); got != want {
			t.Errorf("backend saw %s=%q, want %q", k, got, want)
		}
	}
	if e.Path != "/mcp/tools/list" || e.Query != "cursor=2" || e.Method != "POST" {
		t.Errorf("backend saw %s %s?%s, want POST /mcp/tools/list?cursor=2", e.Method, e.Path, e.Query)
	}
	if e.Host != strings.TrimPrefix(be.URL, "http://") {
		t.Errorf("backend Host %q, want its own address", e.Host)
	}
}

func TestTraceIDIsNewPerRequestWithoutTraceparent(t *testing.T) {
	f := newFixture(t)
	be := echoBackend(t, "github")
	f.gw.Table().Set(githubRoute(t, be.URL))
	tok := f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})
	a := readEcho(t, f.do(t, "GET", "/mcp/github", tok, http.Header{"Traceparent": {"00-00000000000000000000000000000000-00f067aa0ba902b7-01"}})).Header.Get("X-Trace-Id")
	b := readEcho(t, f.do(t, "GET", "/mcp/github", tok, nil)).Header.Get("X-Trace-Id")
	if len(a) != 32 || len(b) != 32 || a == b || a == "00000000000000000000000000000000" {
		t.Fatalf("trace ids %q and %q: want two distinct new 32-hex ids", a, b)
	}
}

func TestTrustedProxies(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.TrustedProxies = []netip.Prefix{mustPrefix(t, "10.0.0.0/8")} })
	be := echoBackend(t, "github")
	f.gw.Table().Set(githubRoute(t, be.URL))
	tok := f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})

	r := newRequest("GET", "/mcp/github", tok)
	r.RemoteAddr = "10.1.2.3:5555"
	r.Header.Set("X-Forwarded-For", "198.51.100.7")
	r.Header.Set("X-Forwarded-Proto", "https")
	e := readEcho(t, serve(f.gw, r))
	if got := e.Header.Get("X-Forwarded-For"); got != "198.51.100.7, 10.1.2.3" {
		t.Errorf("from a trusted proxy X-Forwarded-For %q, want the chain extended", got)
	}
	if got := e.Header.Get("X-Forwarded-Proto"); got != "https" {
		t.Errorf("from a trusted proxy X-Forwarded-Proto %q, want https", got)
	}

	r = newRequest("GET", "/mcp/github", tok)
	r.RemoteAddr = "192.0.2.1:5555"
	r.Header.Set("X-Forwarded-For", "198.51.100.7")
	r.Header.Set("X-Forwarded-Proto", "https")
	e = readEcho(t, serve(f.gw, r))
	if got := e.Header.Get("X-Forwarded-For"); got != "192.0.2.1" {
		t.Errorf("from an untrusted peer X-Forwarded-For %q, want only the peer", got)
	}
	if got := e.Header.Get("X-Forwarded-Proto"); got != "http" {
		t.Errorf("from an untrusted peer X-Forwarded-Proto %q, want http", got)
	}
}

func TestForwardingHeadersAreBelievedOnlyFromTrustedProxies(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.TrustedProxies = []netip.Prefix{mustPrefix(t, "10.0.0.0/8")} })
	be := echoBackend(t, "github")
	f.gw.Table().Set(githubRoute(t, be.URL))
	tok := f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})
	sent := http.Header{
		"X-Real-Ip":          {"203.0.113.66"},
		"X-Forwarded-Port":   {"443"},
		"X-Forwarded-Prefix": {"/admin"},
		"X-Forwarded-Server": {"evil"},
		"X_forwarded_for":    {"203.0.113.66"},
		"X_real_ip":          {"203.0.113.66"},
		"X_forwarded_host":   {"evil.example"},
	}
	from := func(peer string) echoed {
		r := newRequest("GET", "/mcp/github", tok)
		r.RemoteAddr = peer
		for k, v := range sent {
			r.Header[k] = v
		}
		return readEcho(t, serve(f.gw, r))
	}

	e := from("192.0.2.1:5555")
	for k := range sent {
		if v := e.Header.Values(k); len(v) > 0 {
			t.Errorf("from an untrusted peer the backend saw %s=%q", k, v)
		}
	}
	if got := e.Header.Get("X-Forwarded-For"); got != "192.0.2.1" {
		t.Errorf("from an untrusted peer X-Forwarded-For %q, want only the peer", got)
	}

	e = from("10.1.2.3:5555")
	for _, k := range []string{"X-Real-Ip", "X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Server"} {
		if got, want := e.Header.Get(k), sent.Get(k); got != want {
			t.Errorf("from a trusted proxy %s=%q, want %q kept", k, got, want)
		}
	}
	for _, k := range []string{"X_forwarded_for", "X_real_ip", "X_forwarded_host"} {
		if v := e.Header.Values(k); len(v) > 0 {
			t.Errorf("from a trusted proxy the underscore spelling %s=%q still reached the backend", k, v)
		}
	}
	if got := e.Header.Get("X-Forwarded-Host"); got != "gw.example" {
		t.Errorf("X-Forwarded-Host %q, want gw.example", got)
	}
}

// TestConnectionCannotDropTheGatewaysHeaders: fields named in Connection
// are removed (RFC 9110 §7.6.1) before the gateway adds its own, so a
// client listing the identity headers there cannot strip them.
func TestConnectionCannotDropTheGatewaysHeaders(t *testing.T) {
	f := newFixture(t)
	be := echoBackend(t, "github")
	f.gw.Table().Set(githubRoute(t, be.URL))
	tok := f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})
	e := readEcho(t, f.do(t, "GET", "/mcp/github", tok, http.Header{
		"Connection":   {"x-user-id, X-Client-Id, x-proxy-verified, x-user-permissions, x-trace-id, x-forwarded-for, keep-alive"},
		"X-Custom-Hop": {"gone"},
	}))
	for _, k := range []string{"X-User-Id", "X-Client-Id", "X-Proxy-Verified", "X-User-Permissions", "X-Trace-Id", "X-Forwarded-For"} {
		if e.Header.Get(k) == "" {
			t.Errorf("the backend lacks %s", k)
		}
	}
	if e.Header.Get("X-Proxy-Verified") != "true" || e.Header.Get("X-Client-Id") != "team-a.github" {
		t.Errorf("identity headers %v", e.Header)
	}
}

func TestPathMatching(t *testing.T) {
	f := newFixture(t)
	github := echoBackend(t, "github")
	admin := echoBackend(t, "admin")
	root := echoBackend(t, "root")
	nested := echoBackend(t, "nested")
	for _, rt := range []*Route{
		{Key: "a/github", PathPrefix: "/mcp/github", Endpoints: []*url.URL{mustURL(t, github.URL)}, BackendPath: "/mcp", AllowAnonymous: true},
		{Key: "a/nested", PathPrefix: "/mcp/github/admin/", Endpoints: []*url.URL{mustURL(t, nested.URL)}, AllowAnonymous: true},
		{Key: "a/admin", PathPrefix: "/admin", Endpoints: []*url.URL{mustURL(t, admin.URL)}, BackendPath: "/internal/", AllowAnonymous: true},
		{Key: "a/root", PathPrefix: "/", Endpoints: []*url.URL{mustURL(t, root.URL)}, AllowAnonymous: true},
	} {
		f.gw.Table().Set(rt)
	}
	cases := []struct {
		name, path, backend, backendPath string
	}{
		{name: "the prefix itself maps to the backend path", path: "/mcp/github", backend: "github", backendPath: "/mcp"},
		{name: "a sub-path keeps its rest", path: "/mcp/github/tools/call", backend: "github", backendPath: "/mcp/tools/call"},
		{name: "a trailing slash survives", path: "/mcp/github/x/", backend: "github", backendPath: "/mcp/x/"},
		{name: "the longest prefix wins", path: "/mcp/github/admin/users", backend: "nested", backendPath: "/users"},
		{name: "dot-dot leaves the github route", path: "/mcp/github/../admin", backend: "root", backendPath: "/mcp/admin"},
		{name: "dot-dot cannot climb above the root", path: "/mcp/github/../../../admin/x", backend: "admin", backendPath: "/internal/x"},
		{name: "percent-encoded dot-dot is cleaned too", path: "/mcp/github/%2e%2e/%2e%2e/admin", backend: "admin", backendPath: "/internal/"},
		{name: "a shared character prefix is not a segment prefix", path: "/mcp/githubx", backend: "root", backendPath: "/mcp/githubx"},
		{name: "double slashes are cleaned", path: "//mcp//github/a", backend: "github", backendPath: "/mcp/a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest("GET", "/", "")
			r.URL = &url.URL{Path: mustUnescape(t, tc.path)}
			e := readEcho(t, serve(f.gw, r))
			if e.Name != tc.backend || e.Path != tc.backendPath {
				t.Fatalf("reached %s at %s, want %s at %s", e.Name, e.Path, tc.backend, tc.backendPath)
			}
		})
	}
}

func TestAmbiguousPathsAreRefused(t *testing.T) {
	f := newFixture(t)
	var hits atomic.Int32
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, r.URL.EscapedPath())
	})
	f.gw.Table().Set(&Route{Key: "a/github", PathPrefix: "/mcp/github", Endpoints: []*url.URL{mustURL(t, be.URL)}, BackendPath: "/mcp", AllowAnonymous: true})
	f.gw.Table().Set(&Route{Key: "a/root", PathPrefix: "/", Endpoints: []*url.URL{mustURL(t, be.URL)}, AllowAnonymous: true})
	for _, tc := range []struct{ name, path string }{
		{name: "a dot-dot with a path parameter, read as dot-dot by servlet containers", path: "/mcp/github/..;/admin"},
		{name: "a dot-dot with a named parameter", path: "/mcp/github/..;jsessionid=x/admin"},
		{name: "a percent-encoded semicolon after dot-dot", path: "/mcp/github/..%3b/admin"},
		{name: "a dot with a parameter", path: "/mcp/github/.;/x"},
		{name: "a backslash dot-dot", path: `/mcp/github/..\admin`},
		{name: "a percent-encoded backslash", path: "/mcp/github/%5c..%5cadmin"},
		{name: "a NUL byte", path: "/mcp/github/a%00.json"},
		{name: "a line feed", path: "/mcp/github/a%0ab"},
		{name: "an ambiguous path on the metadata endpoint", path: "/.well-known/oauth-protected-resource/mcp/github/..;/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest("GET", "/", "")
			r.URL = &url.URL{Path: mustUnescape(t, tc.path)}
			res := serve(f.gw, r)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", res.StatusCode)
			}
			if e := readError(t, res); e.Error != "invalid_request" {
				t.Fatalf("error %q, want invalid_request", e.Error)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the backend saw %d ambiguous requests", n)
	}
	// Path parameters elsewhere are ordinary and pass.
	r := newRequest("GET", "/mcp/github/a;v=1/b", "")
	res := serve(f.gw, r)
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || string(b) != "/mcp/a;v=1/b" {
		t.Fatalf("a path parameter on an ordinary segment: %d %q, want 200 /mcp/a;v=1/b", res.StatusCode, b)
	}
}

func TestBackendFailures(t *testing.T) {
	f := newFixture(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := l.Addr().String()
	l.Close()
	f.gw.Table().Set(&Route{Key: "a/down", PathPrefix: "/down", Endpoints: []*url.URL{{Scheme: "http", Host: closedAddr}}, AllowAnonymous: true})
	f.gw.Table().Set(&Route{Key: "a/empty", PathPrefix: "/empty", AllowAnonymous: true})

	block := make(chan struct{})
	slow := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	defer close(block)
	f.gw.Table().Set(&Route{Key: "a/slow", PathPrefix: "/slow", Endpoints: []*url.URL{mustURL(t, slow.URL)}, AllowAnonymous: true, Timeout: time.Millisecond})

	for _, tc := range []struct {
		name, path, code string
		status           int
	}{
		{name: "a refused connection is 502", path: "/down", status: 502, code: "backend_unavailable"},
		{name: "no ready endpoints is 503", path: "/empty", status: 503, code: "no_backend"},
		{name: "a backend slower than the route timeout is 504", path: "/slow", status: 504, code: "backend_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.do(t, "GET", tc.path, "", nil)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if e := readError(t, res); e.Error != tc.code {
				t.Fatalf("error %q, want %q", e.Error, tc.code)
			}
		})
	}
}

func TestRoundRobin(t *testing.T) {
	f := newFixture(t)
	a, b := echoBackend(t, "a"), echoBackend(t, "b")
	f.gw.Table().Set(&Route{Key: "x/rr", PathPrefix: "/rr", Endpoints: []*url.URL{mustURL(t, a.URL), mustURL(t, b.URL)}, AllowAnonymous: true})
	var seen []string
	for range 4 {
		seen = append(seen, readEcho(t, f.do(t, "GET", "/rr", "", nil)).Name)
	}
	if got := strings.Join(seen, ""); got != "abab" {
		t.Fatalf("endpoints in order %q, want abab", got)
	}
}

func TestAnonymousRoutes(t *testing.T) {
	f := newFixture(t)
	be := echoBackend(t, "pub")
	f.gw.Table().Set(&Route{Key: "x/pub", PathPrefix: "/pub", Endpoints: []*url.URL{mustURL(t, be.URL)}, AllowAnonymous: true, RequiredScopes: []string{"mcp"}})

	e := readEcho(t, f.do(t, "GET", "/pub", "", http.Header{"X-Proxy-Verified": {"true"}, "X-User-Id": {"root"}}))
	for _, h := range []string{"X-Proxy-Verified", "X-User-Id", "X-Client-Id", "X-User-Permissions"} {
		if v := e.Header.Get(h); v != "" {
			t.Errorf("anonymous request reached the backend with %s=%q", h, v)
		}
	}
	if res := f.do(t, "GET", "/pub", "garbage", nil); res.StatusCode != 401 {
		t.Errorf("a bad token on an anonymous route: status %d, want 401", res.StatusCode)
	}
	tok := f.token(t, "team-a.github", []string{"mcp"}, []string{"api"})
	e = readEcho(t, f.do(t, "GET", "/pub", tok, nil))
	if e.Header.Get("X-Client-Id") != "team-a.github" {
		t.Errorf("a good token on an anonymous route: X-Client-Id %q", e.Header.Get("X-Client-Id"))
	}
}

func TestCORSPreflightPassesWithoutAToken(t *testing.T) {
	f := newFixture(t)
	be := echoBackend(t, "github")
	f.gw.Table().Set(githubRoute(t, be.URL))
	e := readEcho(t, f.do(t, "OPTIONS", "/mcp/github", "", http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"POST"}}))
	if e.Method != "OPTIONS" || e.Header.Get("X-Proxy-Verified") != "" {
		t.Fatalf("backend saw %s with X-Proxy-Verified=%q", e.Method, e.Header.Get("X-Proxy-Verified"))
	}
	if res := f.do(t, "OPTIONS", "/mcp/github", "", nil); res.StatusCode != 401 {
		t.Fatalf("a plain OPTIONS without a token: status %d, want 401", res.StatusCode)
	}
}

func TestADeletedRoutesMetricSeriesAreDropped(t *testing.T) {
	f := newFixture(t)
	be := echoBackend(t, "github")
	f.gw.Table().Set(githubRoute(t, be.URL))
	f.do(t, "GET", "/mcp/github", "", nil).Body.Close()
	if n, err := testutil.GatherAndCount(f.prom, "scopegate_gateway_requests_total"); err != nil || n != 1 {
		t.Fatalf("series before the delete: %d (%v), want 1", n, err)
	}
	f.gw.Table().Delete("team-a/github")
	for _, name := range []string{"scopegate_gateway_requests_total", "scopegate_gateway_request_duration_seconds"} {
		if n, err := testutil.GatherAndCount(f.prom, name); err != nil || n != 0 {
			t.Errorf("%s series after the delete: %d (%v), want 0", name, n, err)
		}
	}
}

func TestMetricsAndDecisionLog(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.DecisionLog = DecisionLogAll })
	be := echoBackend(t, "github")
	f.gw.Table().Set(githubRoute(t, be.URL))
	tok := f.ver.sign(t, tokenSpec{clientID: "team-a.github", scopes: []string{"mcp:github:read"}, aud: []string{"mcp"}, jti: "jti-logged"})
	readEcho(t, f.do(t, "GET", "/mcp/github", tok, nil))
	f.do(t, "GET", "/mcp/github", "", nil).Body.Close()
	f.do(t, "GET", "/mcp/github", tok+"x", nil).Body.Close()

	if got := testutil.ToFloat64(f.gw.metrics.requests.WithLabelValues("team-a/github", "200", "allow")); got != 1 {
		t.Errorf("allowed count %v, want 1", got)
	}
	if got := testutil.ToFloat64(f.gw.metrics.requests.WithLabelValues("team-a/github", "401", "deny")); got != 2 {
		t.Errorf("denied count %v, want 2", got)
	}
	if n, err := testutil.GatherAndCount(f.prom, "scopegate_gateway_request_duration_seconds"); err != nil || n != 2 {
		t.Errorf("duration series %d (%v), want 2 (allow, deny)", n, err)
	}
	logs := f.logs.all()
	if strings.Contains(logs, tok[:20]) || strings.Contains(logs, tok[len(tok)-20:]) {
		t.Fatalf("the token appears in the logs:\n%s", logs)
	}
	for _, want := range []string{`"route"="team-a/github"`, `"client_id"="team-a.github"`, `"jti"="jti-logged"`, `"decision"="allow"`, `"reason"="missing_token"`, `"status"=401`, `"decision"="deny"`, `"latency"=`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	if n := strings.Count(logs, "Gateway decision"); n != 3 {
		t.Errorf("%d decision lines, want 3", n)
	}
	for reason, want := range map[string]float64{"authorized": 1, "missing_token": 1, "bad_signature": 1} {
		decision := "deny"
		if reason == "authorized" {
			decision = "allow"
		}
		if got := testutil.ToFloat64(f.gw.metrics.decisions.WithLabelValues("team-a/github", decision, reason, "", "")); got != want {
			t.Errorf("scopegate_gateway_decisions_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}
}

func TestTheDecisionLogModes(t *testing.T) {
	for _, tc := range []struct {
		mode            string
		allowed, denied int
	}{{"", 0, 1}, {DecisionLogDenied, 0, 1}, {DecisionLogAll, 1, 1}, {DecisionLogOff, 0, 0}} {
		t.Run("mode "+tc.mode, func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.DecisionLog = tc.mode })
			f.gw.Table().Set(githubRoute(t, echoBackend(t, "github").URL))
			tok := f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})
			readEcho(t, f.do(t, "GET", "/mcp/github/x?secret=query", tok, nil))
			f.do(t, "GET", "/mcp/github/x?secret=query", "", nil).Body.Close()
			logs := f.logs.all()
			if n := strings.Count(logs, `"decision"="allow"`); n != tc.allowed {
				t.Errorf("%d allowed lines, want %d:\n%s", n, tc.allowed, logs)
			}
			if n := strings.Count(logs, `"decision"="deny"`); n != tc.denied {
				t.Errorf("%d denied lines, want %d:\n%s", n, tc.denied, logs)
			}
			if strings.Contains(logs, "secret=query") {
				t.Errorf("the query string was logged:\n%s", logs)
			}
			if tc.denied > 0 && !strings.Contains(logs, `"path"="/mcp/github/x"`) {
				t.Errorf("the path is not logged:\n%s", logs)
			}
		})
	}
	if _, err := New(Options{Verifier: newTestVerifier(t, registry.New(), time.Now), Issuer: testIssuer, GatewayURL: testGatewayURL, DecisionLog: "verbose"}); err == nil {
		t.Errorf("an unknown decision log mode was accepted")
	}
}

func TestTheLoggedTraceIDIsTheForwardedOne(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.DecisionLog = DecisionLogAll })
	f.gw.Table().Set(githubRoute(t, echoBackend(t, "github").URL))
	tok := f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})
	e := readEcho(t, f.do(t, "GET", "/mcp/github/x", tok, nil))
	id := e.Header.Get(HeaderTraceID)
	if len(id) != 32 || !strings.Contains(f.logs.all(), `"trace_id"="`+id+`"`) {
		t.Errorf("forwarded x-trace-id %q is not the logged trace_id:\n%s", id, f.logs.all())
	}
}

func TestNewValidatesOptions(t *testing.T) {
	ver := newTestVerifier(t, registry.New(), time.Now)
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{name: "a verifier is required", opts: Options{Issuer: testIssuer, GatewayURL: testGatewayURL}},
		{name: "an issuer is required", opts: Options{Verifier: ver, GatewayURL: testGatewayURL}},
		{name: "a relative gateway URL is refused", opts: Options{Verifier: ver, Issuer: testIssuer, GatewayURL: "/gw"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.opts); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}
