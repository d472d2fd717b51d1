package tokenserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/registry"
)

func TestTokenEndpointRules(t *testing.T) {
	aPost := []string{"client_id", "team-a.alpha", "client_secret", secretA}
	with := func(base []string, kv ...string) url.Values {
		return form(append(append([]string{}, base...), kv...)...)
	}
	cases := []struct {
		name      string
		form      url.Values
		hdr       map[string]string
		setup     func(*fixture)
		status    int
		err       string
		challenge bool
		check     func(t *testing.T, c *accesstoken.Claims)
	}{
		{name: "client_secret_post with an allowed scope gets a token", form: with(aPost, "grant_type", "client_credentials", "scope", "mcp"), status: 200,
			check: func(t *testing.T, c *accesstoken.Claims) {
				if c.Scope != "mcp" || strings.Join(c.Audience, ",") != "api,mcp,a2a" {
					t.Errorf("scope %q aud %v", c.Scope, c.Audience)
				}
			}},
		{name: "client_secret_basic with a form-encoded secret gets a token", form: form("grant_type", "client_credentials", "scope", "service"), hdr: basic("team-b.beta", secretB), status: 200,
			check: func(t *testing.T, c *accesstoken.Claims) {
				if c.ClientID != "team-b.beta" || c.PluginID != "github" {
					t.Errorf("client %q plugin %q", c.ClientID, c.PluginID)
				}
				if got := c.ExpiresAt.Sub(c.IssuedAt.Time); got != 10*time.Minute {
					t.Errorf("ttl %s, want the client's 10m", got)
				}
				if strings.Join(c.Audience, ",") != "api,mcp" {
					t.Errorf("default aud narrowed to the allow-list: %v", c.Audience)
				}
			}},
		{name: "both authentication methods at once are invalid_request", form: form("grant_type", "client_credentials", "scope", "service", "client_secret", secretB), hdr: basic("team-b.beta", secretB), status: 400, err: "invalid_request"},
		{name: "no credentials are invalid_client", form: form("grant_type", "client_credentials", "scope", "mcp"), status: 401, err: "invalid_client"},
		{name: "an unknown client is invalid_client", form: with([]string{"client_id", "nobody.x", "client_secret", secretA}, "grant_type", "client_credentials", "scope", "mcp"), status: 401, err: "invalid_client"},
		{name: "a wrong secret over Basic is invalid_client with a Basic challenge", form: form("grant_type", "client_credentials", "scope", "mcp"), hdr: basic("team-a.alpha", "wrong"), status: 401, err: "invalid_client", challenge: true},
		{name: "a malformed Basic header is invalid_client with a challenge", form: form("grant_type", "client_credentials", "scope", "mcp"), hdr: map[string]string{"Authorization": "Basic !!!"}, status: 401, err: "invalid_client", challenge: true},
		{name: "a suspended client is invalid_client", form: with(aPost, "grant_type", "client_credentials", "scope", "mcp"), status: 401, err: "invalid_client",
			setup: func(f *fixture) {
				c, _ := f.reg.Get("team-a.alpha")
				cp := *c
				cp.Suspended = true
				f.reg.Upsert(&cp)
			}},
		{name: "a missing grant_type is invalid_request", form: with(aPost, "scope", "mcp"), status: 400, err: "invalid_request"},
		{name: "an unknown grant_type is unsupported_grant_type", form: with(aPost, "grant_type", "password", "scope", "mcp"), status: 400, err: "unsupported_grant_type"},
		{name: "a grant type the client lacks is unauthorized_client", form: with(aPost, "grant_type", "client_credentials", "scope", "mcp"), status: 400, err: "unauthorized_client",
			setup: func(f *fixture) {
				c, _ := f.reg.Get("team-a.alpha")
				cp := *c
				cp.GrantTypes = []string{"urn:ietf:params:oauth:grant-type:token-exchange"}
				f.reg.Upsert(&cp)
			}},
		{name: "a missing scope is invalid_scope", form: with(aPost, "grant_type", "client_credentials"), status: 400, err: "invalid_scope"},
		{name: "a malformed scope is invalid_scope", form: with(aPost, "grant_type", "client_credentials", "scope", "mcp BAD!"), status: 400, err: "invalid_scope"},
		{name: "no allowed scope is invalid_scope", form: with(aPost, "grant_type", "client_credentials", "scope", "admin"), status: 400, err: "invalid_scope"},
		{name: "the grant is the exact intersection", form: with(aPost, "grant_type", "client_credentials", "scope", "admin mcp:github:read user"), status: 200,
			check: func(t *testing.T, c *accesstoken.Claims) {
				if c.Scope != "mcp:github:read" || len(c.Roles) != 1 {
					t.Errorf("scope %q roles %v", c.Scope, c.Roles)
				}
			}},
		{name: "repeated audience and resource form aud", form: with(aPost, "grant_type", "client_credentials", "scope", "mcp", "audience", "mcp", "audience", "a2a", "resource", "https://gw.example.test/mcp/github"), status: 200,
			check: func(t *testing.T, c *accesstoken.Claims) {
				if strings.Join(c.Audience, " ") != "mcp a2a https://gw.example.test/mcp/github" {
					t.Errorf("aud %v", c.Audience)
				}
			}},
		{name: "a relative resource is invalid_target", form: with(aPost, "grant_type", "client_credentials", "scope", "mcp", "resource", "/mcp"), status: 400, err: "invalid_target"},
		{name: "a resource with a space is not a URI and is invalid_target", form: with(aPost, "grant_type", "client_credentials", "scope", "mcp", "resource", "https://x.test/a b"), status: 400, err: "invalid_target"},
		{name: "a resource with a non-ASCII character is not a URI and is invalid_target", form: with(aPost, "grant_type", "client_credentials", "scope", "mcp", "resource", "https://x.test/é"), status: 400, err: "invalid_target"},
		{name: "a resource with a fragment is invalid_target", form: with(aPost, "grant_type", "client_credentials", "scope", "mcp", "resource", "https://x.test/a#b"), status: 400, err: "invalid_target"},
		{name: "an audience outside the client's list is invalid_target", form: form("grant_type", "client_credentials", "scope", "service", "audience", "a2a"), hdr: basic("team-b.beta", secretB), status: 400, err: "invalid_target"},
		{name: "a hook scope without the hook audience is invalid_target", form: with(aPost, "grant_type", "client_credentials", "scope", "hook:govern"), status: 400, err: "invalid_target"},
		{name: "a hook scope with the hook audience is granted", form: with(aPost, "grant_type", "client_credentials", "scope", "hook:govern", "audience", "hook"), status: 200},
		{name: "plugin_id becomes a claim", form: with(aPost, "grant_type", "client_credentials", "scope", "mcp", "plugin_id", "slack"), status: 200,
			check: func(t *testing.T, c *accesstoken.Claims) {
				if c.PluginID != "slack" {
					t.Errorf("plugin_id %q", c.PluginID)
				}
			}},
		{name: "a plugin_id differing from the client's is invalid_request", form: form("grant_type", "client_credentials", "scope", "service", "plugin_id", "slack"), hdr: basic("team-b.beta", secretB), status: 400, err: "invalid_request"},
		{name: "an empty audience parameter counts as omitted (RFC 6749 §3.1)", form: with(aPost, "grant_type", "client_credentials", "scope", "mcp", "audience", ""), status: 200,
			check: func(t *testing.T, c *accesstoken.Claims) {
				if strings.Join(c.Audience, ",") != "api,mcp,a2a" {
					t.Errorf("aud %v, want the defaults", c.Audience)
				}
			}},
		{name: "an empty client_secret beside Basic credentials counts as omitted, not as a second method", form: form("grant_type", "client_credentials", "scope", "service", "client_secret", ""), hdr: basic("team-b.beta", secretB), status: 200},
		{name: "an empty grant_type is invalid_request", form: with(aPost, "grant_type", "", "scope", "mcp"), status: 400, err: "invalid_request"},
		{name: "a repeated grant_type parameter is invalid_request", form: with(aPost, "grant_type", "client_credentials", "grant_type", "client_credentials", "scope", "mcp"), status: 400, err: "invalid_request"},
		{name: "a repeated client_id parameter is invalid_request", form: with(aPost, "client_id", "team-a.alpha", "grant_type", "client_credentials", "scope", "mcp"), status: 400, err: "invalid_request"},
		{name: "a repeated parameter is invalid_request even when one copy is empty", form: with(aPost, "grant_type", "client_credentials", "scope", "", "scope", "mcp"), status: 400, err: "invalid_request"},
		{name: "a repeated scope parameter is invalid_request", form: with(aPost, "grant_type", "client_credentials", "scope", "mcp", "scope", "a2a"), status: 400, err: "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			w := f.post(PathToken, tc.form, tc.hdr)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			if p := w.Header().Get("Pragma"); p != "no-cache" {
				t.Errorf("Pragma %q", p)
			}
			if got := w.Header().Get("WWW-Authenticate"); (got != "") != tc.challenge || (tc.challenge && !strings.HasPrefix(got, "Basic realm=")) {
				t.Errorf("WWW-Authenticate %q, challenge expected %v", got, tc.challenge)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not JSON: %s", w.Body)
			}
			if tc.err != "" {
				if body["error"] != tc.err {
					t.Errorf("error %v, want %s", body["error"], tc.err)
				}
				if _, ok := body["error_description"].(string); !ok {
					t.Errorf("no error_description: %v", body)
				}
				return
			}
			if body["token_type"] != "Bearer" || body["expires_in"] == nil || body["scope"] == nil {
				t.Errorf("success body %v", body)
			}
			c, err := f.srv.Verify(t.Context(), body["access_token"].(string))
			if err != nil {
				t.Fatalf("issued token does not verify: %v", err)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestInvalidClientMessageIsTheSameForEveryFailure(t *testing.T) {
	f := newFixture(t)
	bodies := map[string]bool{}
	for _, creds := range [][]string{{"team-a.alpha", "wrong"}, {"nobody.x", secretA}, {"", ""}} {
		w := f.post(PathToken, form("grant_type", "client_credentials", "scope", "mcp", "client_id", creds[0], "client_secret", creds[1]), nil)
		bodies[w.Body.String()] = true
	}
	if len(bodies) != 1 {
		t.Errorf("invalid_client answers differ: %v", bodies)
	}
}

func TestTokenRequestShapeRules(t *testing.T) {
	cases := []struct {
		name   string
		method string
		ctype  string
		body   string
		status int
	}{
		{"a GET is refused", http.MethodGet, "application/x-www-form-urlencoded", "", 405},
		{"a JSON body is invalid_request", http.MethodPost, "application/json", `{"grant_type":"client_credentials"}`, 400},
		{"a missing content type is invalid_request", http.MethodPost, "", "grant_type=client_credentials", 400},
		{"a body over 64 KiB is 413", http.MethodPost, "application/x-www-form-urlencoded", "scope=" + strings.Repeat("a", MaxBodyBytes), 413},
		{"a malformed form body is invalid_request", http.MethodPost, "application/x-www-form-urlencoded", "a=%zz", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			r := httptest.NewRequest(tc.method, PathToken, strings.NewReader(tc.body))
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			w := httptest.NewRecorder()
			f.srv.Handler().ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] != ErrCodeInvalidRequest {
				t.Errorf("body %s", w.Body)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control missing")
			}
		})
	}
}

func TestFailedAuthenticationsAreRateLimited(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.FailedAuthBurst = 3; o.FailedAuthRate = 0.5 })
	bad := form("grant_type", "client_credentials", "scope", "mcp", "client_id", "team-a.alpha", "client_secret", "wrong")
	for i := range 3 {
		if w := f.post(PathToken, bad, nil); w.Code != 401 {
			t.Fatalf("attempt %d: status %d", i, w.Code)
		}
	}
	w := f.post(PathToken, bad, nil)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "2" {
		t.Fatalf("status %d Retry-After %q, want 429 and 2", w.Code, w.Header().Get("Retry-After"))
	}
	// The right secret is refused too while the client_id is locked out.
	good := form("grant_type", "client_credentials", "scope", "mcp", "client_id", "team-a.alpha", "client_secret", secretA)
	if w := f.post(PathToken, good, nil); w.Code != http.StatusTooManyRequests {
		t.Fatalf("locked-out client got %d", w.Code)
	}
	f.clock.Step(2 * time.Second)
	if w := f.post(PathToken, good, nil); w.Code != 200 {
		t.Fatalf("after the wait: status %d %s", w.Code, w.Body)
	}
}

func TestFailedAuthenticationsAreLimitedPerSourceAddress(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.FailedAuthBurst = 2 })
	for i := range 2 {
		id := "nobody.x" + string(rune('a'+i))
		if w := f.post(PathToken, form("client_id", id, "client_secret", "x"), nil); w.Code != 401 {
			t.Fatalf("status %d", w.Code)
		}
	}
	// A new client_id from the same address is still limited.
	if w := f.post(PathToken, form("client_id", "nobody.z", "client_secret", "x"), nil); w.Code != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", w.Code)
	}
}

func TestSuccessfulRequestsAreLimitedOnlyWhenConfigured(t *testing.T) {
	good := form("grant_type", "client_credentials", "scope", "mcp", "client_id", "team-a.alpha", "client_secret", secretA)
	off := newFixture(t)
	for range 50 {
		if w := off.post(PathToken, good, nil); w.Code != 200 {
			t.Fatalf("unlimited server answered %d", w.Code)
		}
	}
	on := newFixture(t, func(o *Options) { o.TokenRateLimit = 2 })
	for range 2 {
		if w := on.post(PathToken, good, nil); w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
	}
	w := on.post(PathToken, good, nil)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestClientAddrBelievesForwardedForOnlyFromTrustedProxies(t *testing.T) {
	trusted := []netipPrefix{mustPrefix("10.0.0.0/8")}
	cases := []struct{ name, remote, xff, want string }{
		{"an untrusted peer is the source", "192.0.2.1:1234", "198.51.100.7", "192.0.2.1"},
		{"a trusted proxy's X-Forwarded-For names the source", "10.1.2.3:1234", "198.51.100.7", "198.51.100.7"},
		{"the right-most untrusted hop wins over a spoofed left one", "10.1.2.3:1234", "203.0.113.9, 198.51.100.7, 10.9.9.9", "198.51.100.7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.RemoteAddr = tc.remote
			r.Header.Set("X-Forwarded-For", tc.xff)
			if got := clientAddr(r, trusted); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestLimiterTableIsBounded(t *testing.T) {
	l := newLimiters(1, 1, 100)
	now := time.Unix(0, 0)
	for i := range 1000 {
		l.spend(string(rune(i)), now)
	}
	if n := l.len(); n > 100 {
		t.Errorf("table holds %d entries, bound 100", n)
	}
}

func TestOversizedClientIDsAreNotKeptByTheLimiter(t *testing.T) {
	f := newFixture(t)
	long := strings.Repeat("n", 32<<10)
	for _, hdr := range []map[string]string{nil, basic(long, "x")} {
		fm := form("grant_type", "client_credentials", "scope", "mcp")
		if hdr == nil {
			fm = form("grant_type", "client_credentials", "scope", "mcp", "client_id", long, "client_secret", "x")
		}
		if w := f.post(PathToken, fm, hdr); w.Code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", w.Code)
		}
	}
	f.srv.failedByID.mu.Lock()
	defer f.srv.failedByID.mu.Unlock()
	for k := range f.srv.failedByID.entries {
		if len(k) > MaxClientIDLength {
			t.Errorf("the per-client limiter keeps a %d-byte key: an attacker fills memory with long client_ids", len(k))
		}
	}
	if f.srv.failedByIP.len() != 1 {
		t.Errorf("the failures must still count against the source address")
	}
}

func TestSuccessfulRequestsDoNotPushLockoutsOutOfTheLimiterTable(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.FailedAuthBurst = 2; o.LimiterEntries = 3 })
	send := func(addr string, fm url.Values) int {
		r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(fm.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = addr + ":1234"
		w := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(w, r)
		return w.Code
	}
	grant := func(id, secret string) url.Values {
		return form("grant_type", "client_credentials", "scope", "mcp", "client_id", id, "client_secret", secret)
	}
	for i := range 2 {
		if code := send(fmt.Sprintf("198.51.100.%d", i), grant("team-a.alpha", "wrong")); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i, code)
		}
	}
	// Busy, well-behaved clients from many addresses: their successes must
	// not evict the lockout of the attacked client_id.
	for i := range 30 {
		id := fmt.Sprintf("team-c.client-%d", i)
		f.addClient(&registry.Client{ID: id, Scopes: []string{"mcp"}}, secretA)
		if code := send(fmt.Sprintf("203.0.113.%d", i), grant(id, secretA)); code != http.StatusOK {
			t.Fatalf("client %s: status %d", id, code)
		}
	}
	if code := send("192.0.2.200", grant("team-a.alpha", secretA)); code != http.StatusTooManyRequests {
		t.Fatalf("the locked-out client_id got %d, want 429", code)
	}
}
