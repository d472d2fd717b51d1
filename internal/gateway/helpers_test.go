package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/registry"
)

const (
	testIssuer     = "https://issuer.example"
	testGatewayURL = "https://gw.example"
)

// newFakeClock is the clock shared by the gateway and the test verifier.
func newFakeClock() *testingclock.FakeClock {
	return testingclock.NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

// testVerifier implements accesstoken.Verifier the way the token server
// does, in small: ES256 signature, issuer, expiry, revoked jti, and a
// deleted or suspended client.
type testVerifier struct {
	key     *ecdsa.PrivateKey
	reg     *registry.Registry
	now     func() time.Time
	mu      sync.Mutex
	revoked map[string]bool
}

func newTestVerifier(t testing.TB, reg *registry.Registry, now func() time.Time) *testVerifier {
	t.Helper()
	return &testVerifier{key: newKey(t), reg: reg, now: now, revoked: map[string]bool{}}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return k
}

func (v *testVerifier) Verify(_ context.Context, raw string) (*accesstoken.Claims, error) {
	c := &accesstoken.Claims{}
	_, err := jwt.ParseWithClaims(raw, c, func(*jwt.Token) (any, error) { return &v.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"ES256"}),
		jwt.WithIssuer(testIssuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", accesstoken.ErrInvalidToken, err)
	}
	v.mu.Lock()
	revoked := v.revoked[c.ID]
	v.mu.Unlock()
	if revoked {
		return nil, fmt.Errorf("%w: revoked", accesstoken.ErrInvalidToken)
	}
	cl, ok := v.reg.Get(c.ClientID)
	if !ok || cl.Suspended {
		return nil, fmt.Errorf("%w: client unknown or suspended", accesstoken.ErrInvalidToken)
	}
	return c, nil
}

func (v *testVerifier) revoke(jti string) {
	v.mu.Lock()
	v.revoked[jti] = true
	v.mu.Unlock()
}

// tokenSpec describes a token to sign.
type tokenSpec struct {
	clientID string
	scopes   []string
	aud      []string
	ttl      time.Duration
	issuer   string
	key      *ecdsa.PrivateKey
	jti      string
}

func (v *testVerifier) sign(t testing.TB, s tokenSpec) string {
	t.Helper()
	now := v.now()
	if s.ttl == 0 {
		s.ttl = time.Hour
	}
	if s.issuer == "" {
		s.issuer = testIssuer
	}
	if s.key == nil {
		s.key = v.key
	}
	if s.jti == "" {
		s.jti = fmt.Sprintf("jti-%d", now.UnixNano()+int64(len(s.scopes)))
	}
	c := accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Subject:   registry.SubjectFor(s.clientID),
			Audience:  s.aud,
			ExpiresAt: jwt.NewNumericDate(now.Add(s.ttl)),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ID:        s.jti,
		},
		ClientID:  s.clientID,
		Scope:     strings.Join(s.scopes, " "),
		TokenType: "Bearer",
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["typ"] = "at+jwt"
	raw, err := tok.SignedString(s.key)
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return raw
}

// logSink collects log lines.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		l.lines = append(l.lines, prefix+" "+args)
		l.mu.Unlock()
	}, funcr.Options{Verbosity: 1})
}

func (l *logSink) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// fixture is a gateway with a test verifier, a registry holding two clients
// and an injectable clock.
type fixture struct {
	gw    *Gateway
	ver   *testVerifier
	reg   *registry.Registry
	clock *testingclock.FakeClock
	logs  *logSink
	prom  *prometheus.Registry
}

func newFixture(t testing.TB, mutate ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{reg: registry.New(), clock: newFakeClock(), logs: &logSink{}, prom: prometheus.NewRegistry()}
	f.reg.Upsert(&registry.Client{ID: "team-a.github", Subject: registry.SubjectFor("team-a.github"), Scopes: []string{"mcp", "mcp:github:read"}})
	f.reg.Upsert(&registry.Client{ID: "team-a.other", Subject: registry.SubjectFor("team-a.other"), Scopes: []string{"api"}})
	f.ver = newTestVerifier(t, f.reg, f.clock.Now)
	opts := Options{
		Verifier:   f.ver,
		Registry:   f.reg,
		Issuer:     testIssuer,
		GatewayURL: testGatewayURL,
		Metrics:    f.prom,
		Log:        f.logs.logger(),
		Now:        f.clock.Now,
	}
	for _, m := range mutate {
		m(&opts)
	}
	gw, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.gw = gw
	return f
}

func (f *fixture) token(t testing.TB, clientID string, scopes, aud []string) string {
	t.Helper()
	return f.ver.sign(t, tokenSpec{clientID: clientID, scopes: scopes, aud: aud})
}

// echoed is what the echo backend saw.
type echoed struct {
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Query  string      `json:"query"`
	Host   string      `json:"host"`
	Header http.Header `json:"header"`
	Name   string      `json:"name"`
}

// echoBackend answers every request with what it received.
func echoBackend(t testing.TB, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sid := r.Header.Get("Mcp-Session-Id"); sid != "" {
			w.Header().Set("Mcp-Session-Id", sid+"-echo")
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoed{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host, Header: r.Header, Name: name})
	}))
	t.Cleanup(s.Close)
	return s
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}
}

// do sends a request through the gateway's handler directly.
func (f *fixture) do(t testing.TB, method, target, token string, hdr http.Header) *http.Response {
	t.Helper()
	return f.doBody(t, method, target, token, hdr, "")
}

// doBody sends a request with a body through the gateway's handler.
func (f *fixture) doBody(t testing.TB, method, target, token string, hdr http.Header, body string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, "http://gw.example"+target, rd)
	r.RemoteAddr = "192.0.2.10:40000"
	for k, vs := range hdr {
		r.Header[k] = vs
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	f.gw.ServeHTTP(w, r)
	return w.Result()
}

func readEcho(t testing.TB, res *http.Response) echoed {
	t.Helper()
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", res.StatusCode, b)
	}
	var e echoed
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("decode echo %s: %v", b, err)
	}
	return e
}

func readError(t testing.TB, res *http.Response) errorBody {
	t.Helper()
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	var e errorBody
	if err := json.NewDecoder(res.Body).Decode(&e); err != nil {
		t.Fatalf("decode error body: %v", err)
	}
	return e
}

func mustPrefix(t testing.TB, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatalf("parse prefix %q: %v", s, err)
	}
	return p
}

func mustUnescape(t testing.TB, s string) string {
	t.Helper()
	p, err := url.PathUnescape(s)
	if err != nil {
		t.Fatalf("unescape %q: %v", s, err)
	}
	return p
}

// newRequest builds a request to the gateway from an untrusted peer.
func newRequest(method, target, token string) *http.Request {
	r := httptest.NewRequest(method, "http://gw.example"+target, nil)
	r.RemoteAddr = "192.0.2.10:40000"
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

func serve(h http.Handler, r *http.Request) *http.Response {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func echoBackendFunc(t testing.TB, fn http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(fn)
	t.Cleanup(s.Close)
	return s
}
