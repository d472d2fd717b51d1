package tokenserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"unsafe"

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
//
// One buffer of the token's final length holds it: the signing input is
// written into it, golang-jwt signs a string view of those bytes (nothing
// writes them again; the signature is appended after them), and the token
// returned is a view of the whole buffer, which sign no longer touches. The
// claims are encoded into a pooled buffer. Every token so costs one
// allocation of its own length instead of four (issue 22's token profile).
func (s *signer) sign(kid string, key any, claims *accesstoken.Claims) (string, error) {
	h, err := s.header(kid)
	if err != nil {
		return "", err
	}
	pb := getBuffer()
	defer putBuffer(pb)
	// Encode writes what Marshal returns, and a newline.
	if err := json.NewEncoder(pb).Encode(claims); err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	payload := bytes.TrimSuffix(pb.Bytes(), []byte{'\n'})
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(h)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(es256SignatureLen))
	buf = append(buf, h...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig, err := jwt.SigningMethodES256.Sign(unsafe.String(unsafe.SliceData(buf), len(buf)), key)
	if err != nil {
		return "", err
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return unsafe.String(unsafe.SliceData(buf), len(buf)), nil
}

// es256SignatureLen is an ES256 signature's length: R and S, 32 bytes each
// (RFC 7518 §3.4).
const es256SignatureLen = 64

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
