// Package dpoptest makes DPoP proofs (RFC 9449 §4.2) for tests: a client's
// key pair and proofs signed by it, including malformed ones. It is for
// tests only; no production code imports it.
package dpoptest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Key is a client's proof key.
type Key struct {
	Private crypto.Signer
	// Alg is the JWS algorithm its proofs use.
	Alg string
	// JWK is the public key as a proof's jwk header parameter.
	JWK map[string]any
}

// NewES256 returns a P-256 key.
func NewES256(t testing.TB) *Key { return newEC(t, elliptic.P256(), "P-256", "ES256") }

// NewES384 returns a P-384 key.
func NewES384(t testing.TB) *Key { return newEC(t, elliptic.P384(), "P-384", "ES384") }

func newEC(t testing.TB, curve elliptic.Curve, crv, alg string) *Key {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	size := (curve.Params().BitSize + 7) / 8
	raw, err := k.PublicKey.Bytes() // 04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	return &Key{Private: k, Alg: alg, JWK: map[string]any{
		"kty": "EC", "crv": crv, "x": b64(raw[1 : 1+size]), "y": b64(raw[1+size:]),
	}}
}

// NewEd25519 returns an Ed25519 key (alg EdDSA).
func NewEd25519(t testing.TB) *Key {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{Private: priv, Alg: "EdDSA", JWK: map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(pub)}}
}

// NewRSA returns an RSA key of bits (alg RS256).
func NewRSA(t testing.TB, bits int) *Key {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{Private: k, Alg: "RS256", JWK: map[string]any{
		"kty": "RSA", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes()),
	}}
}

// Claims are a proof's claims; zero values are left out.
type Claims struct {
	JTI, HTM, HTU string
	IAT           time.Time
	ATH, Nonce    string
}

// Proof signs a well-formed proof: typ dpop+jwt, the key's alg and jwk.
func (k *Key) Proof(t testing.TB, c Claims) string {
	t.Helper()
	return k.Sign(t, map[string]any{"typ": "dpop+jwt", "jwk": k.JWK}, c.Map())
}

// Map is c as JWT claims.
func (c Claims) Map() map[string]any {
	m := map[string]any{}
	for k, v := range map[string]string{"jti": c.JTI, "htm": c.HTM, "htu": c.HTU, "ath": c.ATH, "nonce": c.Nonce} {
		if v != "" {
			m[k] = v
		}
	}
	if !c.IAT.IsZero() {
		m["iat"] = c.IAT.Unix()
	}
	return m
}

// Sign signs claims with header parameters as given (alg is set from the
// key unless header names one), for malformed proofs.
func (k *Key) Sign(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	alg := k.Alg
	if a, ok := header["alg"].(string); ok {
		alg = a
	}
	m := jwt.GetSigningMethod(alg)
	if m == nil {
		t.Fatalf("unknown alg %s", alg)
	}
	tok := jwt.NewWithClaims(m, jwt.MapClaims(claims))
	maps.Copy(tok.Header, header)
	tok.Header["alg"] = alg
	s, err := tok.SignedString(k.Private)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// SignJSON signs claims given as JSON text (duplicate members, escapes),
// with header parameters as given and alg from the key.
func (k *Key) SignJSON(t testing.TB, header map[string]any, claims string) string {
	t.Helper()
	h := maps.Clone(header)
	h["alg"] = k.Alg
	hj, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(hj) + "." + b64([]byte(claims))
	sig, err := jwt.GetSigningMethod(k.Alg).Sign(input, k.Private)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(sig)
}

// Thumbprint is the key's RFC 7638 thumbprint, computed here from the
// members, independently of the package under test.
func (k *Key) Thumbprint() string {
	var canon string
	switch k.JWK["kty"] {
	case "EC":
		canon = fmt.Sprintf(`{"crv":"%s","kty":"EC","x":"%s","y":"%s"}`, k.JWK["crv"], k.JWK["x"], k.JWK["y"])
	case "OKP":
		canon = fmt.Sprintf(`{"crv":"%s","kty":"OKP","x":"%s"}`, k.JWK["crv"], k.JWK["x"])
	case "RSA":
		canon = fmt.Sprintf(`{"e":"%s","kty":"RSA","n":"%s"}`, k.JWK["e"], k.JWK["n"])
	}
	sum := sha256.Sum256([]byte(canon))
	return b64(sum[:])
}

// ATH is the ath claim for an access token: base64url(SHA-256(token)).
func ATH(token string) string {
	sum := sha256.Sum256([]byte(token))
	return b64(sum[:])
}

// JTI is a fresh random jti.
func JTI() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return b64(b)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// HMACProof signs claims with HS256, a symmetric algorithm no proof may use.
func HMACProof(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims))
	maps.Copy(tok.Header, header)
	tok.Header["alg"] = "HS256"
	s, err := tok.SignedString([]byte("a shared secret of thirty-two by"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// UnsignedProof is claims with alg none and no signature.
func UnsignedProof(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(claims))
	maps.Copy(tok.Header, header)
	tok.Header["alg"] = "none"
	s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
