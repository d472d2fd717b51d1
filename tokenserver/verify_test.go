package tokenserver

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/tokenserver/keys"
)

func TestVerify(t *testing.T) {
	cases := []struct {
		name  string
		token func(f *fixture) string
		ok    bool
	}{
		{"a fresh token verifies", func(f *fixture) string { return f.issue("team-a.alpha", "mcp") }, true},
		{"a token within the leeway after exp verifies", func(f *fixture) string {
			raw := f.issue("team-a.alpha", "mcp")
			f.clock.Step(time.Hour + 10*time.Second)
			return raw
		}, true},
		{"a cached token expires with the token", func(f *fixture) string {
			raw := f.issue("team-a.alpha", "mcp")
			if _, err := f.srv.Verify(f.t.Context(), raw); err != nil {
				f.t.Fatal(err)
			}
			f.clock.Step(time.Hour + time.Minute)
			return raw
		}, false},
		{"a token of a client deleted after caching fails", func(f *fixture) string {
			raw := f.issue("team-a.alpha", "mcp")
			if _, err := f.srv.Verify(f.t.Context(), raw); err != nil {
				f.t.Fatal(err)
			}
			f.reg.Delete("team-a.alpha")
			return raw
		}, false},
		{"a cached token fails once its signing key is withdrawn from the key set", func(f *fixture) string {
			raw := f.issue("team-a.alpha", "mcp")
			if _, err := f.srv.Verify(f.t.Context(), raw); err != nil {
				f.t.Fatal(err)
			}
			// An operator replaces the signing-keys Secret (a compromised
			// key): its tokens must stop verifying at once, cached or not.
			k, err := keys.Generate(f.clock.Now(), f.clock.Now())
			if err != nil {
				f.t.Fatal(err)
			}
			f.ring.Load(keys.Set{Keys: []keys.Key{k}})
			return raw
		}, false},
		{"a token whose typ is not at+jwt fails", func(f *fixture) string {
			k, _ := f.ring.Signing()
			tok := jwt.NewWithClaims(jwt.SigningMethodES256, &accesstoken.Claims{RegisteredClaims: jwt.RegisteredClaims{
				Issuer: testIssuer, ID: "x", ExpiresAt: jwt.NewNumericDate(f.clock.Now().Add(time.Hour))}, ClientID: "team-a.alpha"})
			tok.Header["kid"] = k.ID
			raw, _ := tok.SignedString(k.Private)
			return raw
		}, false},
		{"a token without exp fails", func(f *fixture) string {
			k, _ := f.ring.Signing()
			tok := jwt.NewWithClaims(jwt.SigningMethodES256, &accesstoken.Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: testIssuer, ID: "x"}, ClientID: "team-a.alpha"})
			tok.Header["kid"] = k.ID
			tok.Header["typ"] = accesstoken.TypAccessToken
			raw, _ := tok.SignedString(k.Private)
			return raw
		}, false},
		{"an alg none token fails", func(f *fixture) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodNone, &accesstoken.Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: testIssuer, ID: "x",
				ExpiresAt: jwt.NewNumericDate(f.clock.Now().Add(time.Hour))}, ClientID: "team-a.alpha"})
			tok.Header["typ"] = accesstoken.TypAccessToken
			raw, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
			return raw
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.srv.Verify(t.Context(), tc.token(f))
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, accesstoken.ErrInvalidToken) {
				t.Errorf("error does not wrap ErrInvalidToken: %v", err)
			}
		})
	}
}

func TestVerifyCacheIsBounded(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.VerifyCacheSize = 5 })
	for range 20 {
		if _, err := f.srv.Verify(t.Context(), f.issue("team-a.alpha", "mcp")); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.srv.cache.len(); n > 5 {
		t.Errorf("cache holds %d entries, bound 5", n)
	}
}

func TestAFullVerifyCacheMakesRoomForABatch(t *testing.T) {
	// Making room scans the whole table under the write lock, stalling every
	// gateway request: it must free a batch at once, not one entry per miss.
	c := newVerifyCache(160)
	now := time.Unix(0, 0)
	for i := range 161 {
		c.put([32]byte{byte(i), byte(i >> 8)}, &accesstoken.Claims{}, "kid", now.Add(time.Hour), now)
	}
	if n := c.len(); n > 160-160/evictDivisor+1 {
		t.Errorf("a full cache freed room for one entry only: %d of 160 held", n)
	}
}

func TestACachedVerificationDoesNotAllocate(t *testing.T) {
	// The gateway verifies every request's token; the cached path is a hash
	// and a few lookups, with nothing for the garbage collector.
	f := newFixture(t)
	raw := f.issue("team-a.alpha", "mcp")
	if _, err := f.srv.Verify(t.Context(), raw); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if n := testing.AllocsPerRun(100, func() { _, _ = f.srv.Verify(ctx, raw) }); n != 0 {
		t.Errorf("%v allocations per cached verification", n)
	}
}
