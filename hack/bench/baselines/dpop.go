package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"sync"
	"time"
)

// proofChecker is the issuer baseline's DPoP check: the least a token
// endpoint must do with one ES256 proof (RFC 9449 §4.3), in the standard
// library only: the JOSE header (typ, alg, a P-256 jwk), the signature,
// htm, htu (compared as a string, without normalisation), iat within 60 s
// back and 10 s ahead, and a jti not seen before for the key (remembered in
// two generations of 70 s, as the manager does, without a bound).
type proofChecker struct {
	htu string

	mu        sync.Mutex
	cur, prev map[string]struct{}
	curStart  time.Time
}

const (
	proofMaxAge     = 60 * time.Second
	proofFutureSkew = 10 * time.Second
)

func newProofChecker(htu string) *proofChecker {
	return &proofChecker{htu: htu, cur: map[string]struct{}{}}
}

var errProof = errors.New("invalid DPoP proof")

// check verifies one proof for a request with method htm at now and returns
// the key's RFC 7638 thumbprint.
func (c *proofChecker) check(raw, htm string, now time.Time) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", errProof
	}
	var hdr struct {
		Typ string `json:"typ"`
		Alg string `json:"alg"`
		JWK struct {
			Kty string `json:"kty"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Y   string `json:"y"`
		} `json:"jwk"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil || hdr.Typ != "dpop+jwt" || hdr.Alg != "ES256" || hdr.JWK.Kty != "EC" || hdr.JWK.Crv != "P-256" {
		return "", errProof
	}
	x, errX := base64.RawURLEncoding.DecodeString(hdr.JWK.X)
	y, errY := base64.RawURLEncoding.DecodeString(hdr.JWK.Y)
	sig, errS := base64.RawURLEncoding.DecodeString(parts[2])
	if errX != nil || errY != nil || errS != nil || len(x) != 32 || len(y) != 32 || len(sig) != 64 {
		return "", errProof
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return "", errProof
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return "", errProof
	}
	var claims struct {
		JTI string `json:"jti"`
		HTM string `json:"htm"`
		HTU string `json:"htu"`
		IAT int64  `json:"iat"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil || claims.JTI == "" || len(claims.JTI) > 256 || claims.HTM != htm || claims.HTU != c.htu {
		return "", errProof
	}
	iat := time.Unix(claims.IAT, 0)
	if iat.Before(now.Add(-proofMaxAge)) || iat.After(now.Add(proofFutureSkew)) {
		return "", errProof
	}
	tp := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + hdr.JWK.X + `","y":"` + hdr.JWK.Y + `"}`))
	jkt := base64.RawURLEncoding.EncodeToString(tp[:])
	if !c.remember(jkt+"\x00"+claims.JTI, now) {
		return "", errProof
	}
	return jkt, nil
}

// remember records key at now; false when it was seen before.
func (c *proofChecker) remember(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.curStart) >= proofMaxAge+proofFutureSkew {
		c.prev, c.cur, c.curStart = c.cur, map[string]struct{}{}, now
	}
	if _, ok := c.cur[key]; ok {
		return false
	}
	if _, ok := c.prev[key]; ok {
		return false
	}
	c.cur[key] = struct{}{}
	return true
}

func decodeSegment(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
