package tokenserver

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scopegate/scopegate/internal/accesstoken"
)

// signer writes compact JWS (RFC 7515 §7.1) access tokens. The JOSE header
// is the same for every token a key signs, so it is encoded once per key
// instead of once per token; the claims are encoded and the signature made
// by golang-jwt's ES256 method, as before. The tokens are byte for byte
// what jwt.Token.SignedString wrote (the header's keys in the same sorted
// order), which the verification tests parse.
type signer struct {
	// last is the header of the key that signed last: one key signs at a
	// time, so one entry is enough and nothing accumulates over rotations.
	last atomic.Pointer[encodedHeader]
}

type encodedHeader struct{ kid, b64 string }

// sign returns the compact serialisation of claims signed by the key kid.
func (s *signer) sign(kid string, key any, claims *accesstoken.Claims) (string, error) {
	h, err := s.header(kid)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(h)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(64))
	buf = append(buf, h...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig, err := jwt.SigningMethodES256.Sign(string(buf), key)
	if err != nil {
		return "", err
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

func (s *signer) header(kid string) (string, error) {
	if h := s.last.Load(); h != nil && h.kid == kid {
		return h.b64, nil
	}
	// A map, as jwt.Token's header: encoding/json sorts its keys.
	js, err := json.Marshal(map[string]any{"alg": jwt.SigningMethodES256.Alg(), "kid": kid, "typ": accesstoken.TypAccessToken})
	if err != nil {
		return "", fmt.Errorf("encode JOSE header: %w", err)
	}
	h := base64.RawURLEncoding.EncodeToString(js)
	s.last.Store(&encodedHeader{kid: kid, b64: h})
	return h, nil
}
