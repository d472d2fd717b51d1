package tokenserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scopegate/scopegate/internal/accesstoken"
)

func TestTheSignerWritesWhatGolangJWTWritesAndItVerifies(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	claims := &accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: testIssuer, Subject: "s", Audience: jwt.ClaimStrings{"mcp"},
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ID: "j"},
		ClientID: "team-a.alpha", Scope: "mcp", Roles: []string{"mcp"}, TokenType: "Bearer",
	}
	ref := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	ref.Header["kid"], ref.Header["typ"] = "k1", accesstoken.TypAccessToken
	want, err := ref.SigningString()
	if err != nil {
		t.Fatal(err)
	}
	var s signer
	for _, kid := range []string{"k1", "k1", "k2", "k1"} { // cached, replaced, back
		raw, err := s.sign(kid, key, claims)
		if err != nil {
			t.Fatal(err)
		}
		i := strings.LastIndexByte(raw, '.')
		if kid == "k1" && raw[:i] != want {
			t.Fatalf("header and payload\n%s\nwant what golang-jwt writes\n%s", raw[:i], want)
		}
		tok, err := jwt.ParseWithClaims(raw, &accesstoken.Claims{}, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
			jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(func() time.Time { return now }))
		if err != nil {
			t.Fatalf("the token does not verify: %v", err)
		}
		if tok.Header["kid"] != kid || tok.Header["typ"] != accesstoken.TypAccessToken {
			t.Fatalf("header %v, want kid %s and typ %s", tok.Header, kid, accesstoken.TypAccessToken)
		}
	}
}

// The signer adds few allocations to the signature's own. Counted against
// golang-jwt's ES256 signature of the same input in the same run, so that
// the signature's own allocations (the standard library's) do not count.
func TestTheSignerAllocatesLittleBesideTheSignature(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := &accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: testIssuer, Subject: "s", Audience: jwt.ClaimStrings{"mcp"},
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ID: "j"},
		ClientID: "team-a.alpha", Scope: "mcp", Roles: []string{"mcp"}, TokenType: "Bearer",
	}
	var s signer
	raw, err := s.sign("k1", key, claims)
	if err != nil {
		t.Fatal(err)
	}
	input := raw[:strings.LastIndexByte(raw, '.')]
	signature := testing.AllocsPerRun(200, func() { _, _ = jwt.SigningMethodES256.Sign(input, key) })
	token := testing.AllocsPerRun(200, func() { _, _ = s.sign("k1", key, claims) })
	t.Logf("allocations: signature %.1f, token %.1f", signature, token)
	// 9 with Go 1.26: the buffer, and encoding/json's for the claims (the
	// three dates' MarshalJSON among them). A copy of the token costs one
	// more: the signer made three before.
	if extra := token - signature; extra > 9 {
		t.Fatalf("sign allocates %.1f times beside the signature's %.1f, want at most 9", extra, signature)
	}
}
