package tokenserver

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/dpop"
	"github.com/scopegate/scopegate/internal/dpop/dpoptest"
	"github.com/scopegate/scopegate/internal/registry"
)

// proofFor is a fresh proof by key for a token request, with extra
// claims set by mutate.
func (f *fixture) proofFor(key *dpoptest.Key, mutate ...func(*dpoptest.Claims)) string {
	f.t.Helper()
	c := dpoptest.Claims{JTI: dpoptest.JTI(), HTM: http.MethodPost, HTU: testIssuer + PathToken, IAT: f.clock.Now()}
	for _, m := range mutate {
		m(&c)
	}
	return key.Proof(f.t, c)
}

func withDPoP(hdr map[string]string, proof string) map[string]string {
	out := map[string]string{"DPoP": proof}
	for k, v := range hdr {
		out[k] = v
	}
	return out
}

// requireDPoPClient is a client of the fixture with RequireDPoP.
const requireDPoPClient = "team-d.bound"

func addRequireDPoPClient(f *fixture) {
	f.addClient(&registry.Client{ID: requireDPoPClient, Scopes: []string{"mcp"}, RequireDPoP: true}, secretA)
}

func TestTokenEndpointIssuesDPoPBoundTokens(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  func(t *testing.T) *dpoptest.Key
	}{
		{name: "An ES256 proof binds the token to its key", key: func(t *testing.T) *dpoptest.Key { return dpoptest.NewES256(t) }},
		{name: "An EdDSA proof binds the token to its key", key: func(t *testing.T) *dpoptest.Key { return dpoptest.NewEd25519(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			key := tc.key(t)
			w := f.post(PathToken, form("grant_type", "client_credentials", "scope", "mcp"), withDPoP(basic("team-a.alpha", secretA), f.proofFor(key)))
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			body := decodeBody(t, w.Body.Bytes())
			if body["token_type"] != "DPoP" {
				t.Fatalf("token_type %v, want DPoP (RFC 9449 §5)", body["token_type"])
			}
			c, err := f.srv.Verify(t.Context(), body["access_token"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if c.Confirmation == nil || c.Confirmation.JKT != key.Thumbprint() {
				t.Fatalf("cnf %+v, want jkt %s", c.Confirmation, key.Thumbprint())
			}
			if c.TokenType != accesstoken.TokenTypeDPoP {
				t.Fatalf("token_type claim %q", c.TokenType)
			}
		})
	}
}

func TestTokenEndpointWithoutAProofIssuesBearerTokens(t *testing.T) {
	f := newFixture(t)
	w := f.post(PathToken, form("grant_type", "client_credentials", "scope", "mcp"), basic("team-a.alpha", secretA))
	body := decodeBody(t, w.Body.Bytes())
	if w.Code != 200 || body["token_type"] != "Bearer" {
		t.Fatalf("status %d token_type %v", w.Code, body["token_type"])
	}
	c, err := f.srv.Verify(t.Context(), body["access_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if c.Confirmation != nil || c.TokenType != "Bearer" {
		t.Fatalf("a bearer token has cnf %+v, token_type %q", c.Confirmation, c.TokenType)
	}
	if strings.Contains(w.Body.String(), `"cnf"`) || f.introspect(body["access_token"].(string))["cnf"] != nil {
		t.Fatal("a bearer token reports cnf")
	}
	if _, set := w.Header()[dpop.NonceHeader]; set {
		t.Fatal("DPoP-Nonce sent while nonces are off")
	}
}

func TestTokenEndpointRefusesBadProofs(t *testing.T) {
	key := dpoptest.NewES256(t)
	cc := form("grant_type", "client_credentials", "scope", "mcp")
	for _, tc := range []struct {
		name   string
		setup  func(f *fixture) (url.Values, map[string]string)
		status int
		err    string
	}{
		{name: "A proof for the address the request reached is refused: htu is the issuer's token endpoint", setup: func(f *fixture) (url.Values, map[string]string) {
			return cc, withDPoP(basic("team-a.alpha", secretA), f.proofFor(key, func(c *dpoptest.Claims) { c.HTU = "http://example.com/oauth/token" }))
		}, status: 400, err: ErrCodeInvalidDPoPProof},
		{name: "A proof for GET is refused", setup: func(f *fixture) (url.Values, map[string]string) {
			return cc, withDPoP(basic("team-a.alpha", secretA), f.proofFor(key, func(c *dpoptest.Claims) { c.HTM = http.MethodGet }))
		}, status: 400, err: ErrCodeInvalidDPoPProof},
		{name: "An old proof is refused", setup: func(f *fixture) (url.Values, map[string]string) {
			return cc, withDPoP(basic("team-a.alpha", secretA), f.proofFor(key, func(c *dpoptest.Claims) { c.IAT = f.clock.Now().Add(-time.Hour) }))
		}, status: 400, err: ErrCodeInvalidDPoPProof},
		{name: "A proof with a private key is refused", setup: func(f *fixture) (url.Values, map[string]string) {
			jwk := map[string]any{"d": "AAAA"}
			for k, v := range key.JWK {
				jwk[k] = v
			}
			c := dpoptest.Claims{JTI: "j", HTM: "POST", HTU: testIssuer + PathToken, IAT: f.clock.Now()}
			return cc, withDPoP(basic("team-a.alpha", secretA), key.Sign(f.t, map[string]any{"typ": "dpop+jwt", "jwk": jwk}, c.Map()))
		}, status: 400, err: ErrCodeInvalidDPoPProof},
		{name: "Two DPoP headers are refused", setup: func(f *fixture) (url.Values, map[string]string) {
			return cc, withDPoP(basic("team-a.alpha", secretA), "two")
		}, status: 400, err: ErrCodeInvalidDPoPProof},
		{name: "A bad proof with bad client credentials is invalid_client: the client is authenticated first", setup: func(f *fixture) (url.Values, map[string]string) {
			return cc, withDPoP(basic("team-a.alpha", "wrong"), "garbage")
		}, status: 401, err: ErrCodeInvalidClient},
		{name: "A client that requires DPoP is refused without a proof", setup: func(f *fixture) (url.Values, map[string]string) {
			addRequireDPoPClient(f)
			return cc, basic(requireDPoPClient, secretA)
		}, status: 400, err: ErrCodeInvalidDPoPProof},
		{name: "A client that requires DPoP is refused with a bad proof", setup: func(f *fixture) (url.Values, map[string]string) {
			addRequireDPoPClient(f)
			return cc, withDPoP(basic(requireDPoPClient, secretA), "not-a-proof")
		}, status: 400, err: ErrCodeInvalidDPoPProof},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			body, hdr := tc.setup(f)
			r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(body.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range hdr {
				r.Header.Set(k, v)
			}
			if hdr["DPoP"] == "two" {
				r.Header.Set("DPoP", f.proofFor(key))
				r.Header.Add("DPoP", f.proofFor(key))
			}
			w := httptest.NewRecorder()
			f.srv.Handler().ServeHTTP(w, r)
			got := decodeBody(t, w.Body.Bytes())
			if w.Code != tc.status || got["error"] != tc.err {
				t.Fatalf("status %d %v, want %d %s", w.Code, got, tc.status, tc.err)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Fatal("an error answer is cacheable")
			}
			if f.issuedCount() != 0 {
				t.Fatal("a token was issued")
			}
		})
	}
}

func TestTokenEndpointAcceptsAProofOnce(t *testing.T) {
	f := newFixture(t)
	addRequireDPoPClient(f)
	proof := f.proofFor(dpoptest.NewES256(t))
	hdr := withDPoP(basic(requireDPoPClient, secretA), proof)
	cc := form("grant_type", "client_credentials", "scope", "mcp")
	if w := f.post(PathToken, cc, hdr); w.Code != 200 || decodeBody(t, w.Body.Bytes())["token_type"] != "DPoP" {
		t.Fatalf("first use: %d %s", w.Code, w.Body)
	}
	w := f.post(PathToken, cc, hdr)
	if got := decodeBody(t, w.Body.Bytes()); w.Code != 400 || got["error"] != ErrCodeInvalidDPoPProof || !strings.Contains(got["error_description"].(string), "jti was used before") {
		t.Fatalf("replay: %d %v", w.Code, got)
	}
}

func TestTokenEndpointNonceFlow(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.DPoPRequireNonce = true })
	addRequireDPoPClient(f)
	key := dpoptest.NewES256(t)
	cc := form("grant_type", "client_credentials", "scope", "mcp")

	// Without a nonce: use_dpop_nonce and a nonce to use (RFC 9449 §8).
	w := f.post(PathToken, cc, withDPoP(basic(requireDPoPClient, secretA), f.proofFor(key)))
	nonce := w.Header().Get(dpop.NonceHeader)
	if got := decodeBody(t, w.Body.Bytes()); w.Code != 400 || got["error"] != ErrCodeUseDPoPNonce || nonce == "" {
		t.Fatalf("proof without nonce: %d %v nonce %q", w.Code, got, nonce)
	}
	// A bearer-only request of this client is invalid_dpop_proof, with a
	// nonce for the proof it should send.
	w = f.post(PathToken, cc, basic(requireDPoPClient, secretA))
	if got := decodeBody(t, w.Body.Bytes()); w.Code != 400 || got["error"] != ErrCodeInvalidDPoPProof || w.Header().Get(dpop.NonceHeader) == "" {
		t.Fatalf("bearer-only request: %d %v", w.Code, got)
	}
	// With the nonce: a DPoP token, and the nonce again for the next one.
	withNonce := func(c *dpoptest.Claims) { c.Nonce = nonce }
	w = f.post(PathToken, cc, withDPoP(basic(requireDPoPClient, secretA), f.proofFor(key, withNonce)))
	if w.Code != 200 || decodeBody(t, w.Body.Bytes())["token_type"] != "DPoP" || w.Header().Get(dpop.NonceHeader) == "" {
		t.Fatalf("proof with nonce: %d %s", w.Code, w.Body)
	}
	// Another replica reads the same signing keys and accepts the nonce.
	other, err := New(Options{Issuer: testIssuer, Registry: f.reg, Keys: f.ring, Revocations: f.revs, Now: f.clock.Now, DPoPRequireNonce: true})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(cc.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range withDPoP(basic(requireDPoPClient, secretA), f.proofFor(key, withNonce)) {
		r.Header.Set(k, v)
	}
	w = httptest.NewRecorder()
	other.Handler().ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("another replica refused the nonce: %d %s", w.Code, w.Body)
	}
	// Nonces expire: two periods later it is use_dpop_nonce again.
	f.clock.Step(2 * dpop.DefaultNoncePeriod)
	w = f.post(PathToken, cc, withDPoP(basic(requireDPoPClient, secretA), f.proofFor(key, withNonce)))
	if got := decodeBody(t, w.Body.Bytes()); w.Code != 400 || got["error"] != ErrCodeUseDPoPNonce || w.Header().Get(dpop.NonceHeader) == nonce {
		t.Fatalf("stale nonce: %d %v", w.Code, got)
	}
}

func TestDPoPTokenExchange(t *testing.T) {
	f, _ := newWorkloadFixture(t)
	key := dpoptest.NewEd25519(t)
	w := f.post(PathToken, form("grant_type", GrantTokenExchange, "subject_token", "sa:team-w:agent", "subject_token_type", TokenTypeJWT),
		map[string]string{"DPoP": f.proofFor(key)})
	body := decodeBody(t, w.Body.Bytes())
	if w.Code != 200 || body["token_type"] != "DPoP" || body["issued_token_type"] != TokenTypeAccessToken {
		t.Fatalf("exchange with a proof: %d %v", w.Code, body)
	}
	if c, err := f.srv.Verify(t.Context(), body["access_token"].(string)); err != nil || c.Confirmation == nil || c.Confirmation.JKT != key.Thumbprint() {
		t.Fatalf("exchanged token: %+v %v", c, err)
	}
}

func TestIntrospectionReportsCnf(t *testing.T) {
	f := newFixture(t)
	key := dpoptest.NewES256(t)
	w := f.post(PathToken, form("grant_type", "client_credentials", "scope", "mcp"), withDPoP(basic("team-a.alpha", secretA), f.proofFor(key)))
	tok := decodeBody(t, w.Body.Bytes())["access_token"].(string)
	got := f.introspect(tok)
	cnf, _ := got["cnf"].(map[string]any)
	if got["active"] != true || got["token_type"] != "DPoP" || cnf["jkt"] != key.Thumbprint() {
		t.Fatalf("introspection %v; want active, token_type DPoP, cnf.jkt %s (RFC 9449 §6.2)", got, key.Thumbprint())
	}
}

func TestMetadataAdvertisesDPoP(t *testing.T) {
	f := newFixture(t)
	algs := f.get(PathMetadata)["dpop_signing_alg_values_supported"]
	for _, want := range []string{"ES256", "EdDSA"} {
		if !slices.Contains(algs, want) {
			t.Errorf("dpop_signing_alg_values_supported %v lacks %s", algs, want)
		}
	}
}

func TestProofsAndTokensAreNeverLogged(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	log := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, prefix+" "+args)
	}, funcr.Options{Verbosity: 10})
	f := newFixture(t, func(o *Options) { o.Log = logr.Logger(log) })
	addRequireDPoPClient(f)
	key := dpoptest.NewES256(t)
	cc := form("grant_type", "client_credentials", "scope", "mcp")
	good := f.proofFor(key)
	bad := f.proofFor(key, func(c *dpoptest.Claims) { c.HTM = "GET" })
	w := f.post(PathToken, cc, withDPoP(basic(requireDPoPClient, secretA), good))
	tok, _ := decodeBody(t, w.Body.Bytes())["access_token"].(string)
	f.post(PathToken, cc, withDPoP(basic(requireDPoPClient, secretA), bad))
	f.post(PathToken, cc, withDPoP(basic(requireDPoPClient, secretA), good)) // replay
	mu.Lock()
	defer mu.Unlock()
	if tok == "" || len(lines) < 3 {
		t.Fatalf("token %q, %d log lines: the test logged nothing to check", tok, len(lines))
	}
	for _, l := range lines {
		for _, secret := range []string{good, bad, tok, secretA, strings.Split(good, ".")[2], strings.Split(tok, ".")[2]} {
			if strings.Contains(l, secret) {
				t.Fatalf("log line holds a proof, token or secret: %s", l)
			}
		}
	}
}
