package tokenserver

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scopegate/scopegate/internal/dpop/dpoptest"
)

func BenchmarkTokenEndpoint(b *testing.B) {
	f := newFixture(b)
	h := f.srv.Handler()
	body := form("grant_type", "client_credentials", "scope", "mcp", "audience", "mcp").Encode()
	auth := basic("team-a.alpha", secretA)["Authorization"]
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	f := newFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.srv.issue(issueParams{clientID: "team-a.alpha", scopes: []string{"mcp"}, aud: []string{"mcp"}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	b.Run("cold", func(b *testing.B) {
		f := newFixture(b)
		raw := f.issue("team-a.alpha", "mcp")
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := f.srv.parse(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		f := newFixture(b)
		raw := f.issue("team-a.alpha", "mcp")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.srv.Verify(b.Context(), raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkClientAuthentication is client_secret_basic from the header to
// an authenticated client: decoding, the registry lookup, the constant-time
// digest comparison and the failed-authentication limiter's bookkeeping.
func BenchmarkClientAuthentication(b *testing.B) {
	f := newFixture(b)
	auth := basic("team-a.alpha", secretA)["Authorization"]
	r := httptest.NewRequest(http.MethodPost, PathToken, nil)
	r.RemoteAddr = "192.0.2.10:40000"
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		c, oerr := parseCredentials(auth, nil)
		if oerr != nil {
			b.Fatal(oerr)
		}
		if a, oerr := f.srv.authenticate(w, r, c); oerr != nil || a.Client == nil {
			b.Fatalf("not authenticated: %v", oerr)
		}
	}
}

// BenchmarkTokenEndpointDPoP is BenchmarkTokenEndpoint with a DPoP proof
// verified and the token bound, in the same run as the plain one so the
// two compare; making each fresh proof (the client's cost) is not timed.
func BenchmarkTokenEndpointDPoP(b *testing.B) {
	for _, tc := range []struct {
		name string
		key  func(testing.TB) *dpoptest.Key
	}{
		{name: "ES256", key: dpoptest.NewES256},
		{name: "EdDSA", key: dpoptest.NewEd25519},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := newFixture(b)
			h := f.srv.Handler()
			key := tc.key(b)
			body := form("grant_type", "client_credentials", "scope", "mcp", "audience", "mcp").Encode()
			auth := basic("team-a.alpha", secretA)["Authorization"]
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				proof := f.proofFor(key)
				b.StartTimer()
				r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Authorization", auth)
				r.Header.Set("DPoP", proof)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
