package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"time"
)

// Algorithm is the JWS algorithm of every key (RFC 7518 §3.4).
const Algorithm = "ES256"

// Key is one ES256 signing key.
type Key struct {
	// ID is the kid: the RFC 7638 JWK thumbprint of the public key, so the
	// same key always has the same kid on every replica.
	ID      string
	Private *ecdsa.PrivateKey
	// CreatedAt is when the key was generated.
	CreatedAt time.Time
	// ActivateAt is when the key starts signing; until then it is only
	// published.
	ActivateAt time.Time
}

// Public is the key's public half.
func (k Key) Public() *ecdsa.PublicKey { return &k.Private.PublicKey }

// Generate makes a new P-256 key that activates at activateAt.
func Generate(now, activateAt time.Time) (Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("generate P-256 key: %w", err)
	}
	kid, err := Thumbprint(&priv.PublicKey)
	if err != nil {
		return Key{}, err
	}
	return Key{ID: kid, Private: priv, CreatedAt: now.UTC(), ActivateAt: activateAt.UTC()}, nil
}

// Thumbprint is the RFC 7638 JWK SHA-256 thumbprint of an EC public key,
// base64url without padding.
func Thumbprint(pub *ecdsa.PublicKey) (string, error) {
	x, y, err := coordinates(pub)
	if err != nil {
		return "", err
	}
	// RFC 7638 §3.2: the required members in lexicographic order, no spaces.
	canon := `{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// coordinates are the base64url x and y of a P-256 public key, each padded
// to 32 bytes (RFC 7518 §6.2.1.2).
func coordinates(pub *ecdsa.PublicKey) (x, y string, err error) {
	raw, err := pub.Bytes() // 0x04 || X || Y
	if err != nil {
		return "", "", fmt.Errorf("encode public key: %w", err)
	}
	if len(raw) != 65 {
		return "", "", fmt.Errorf("encode public key: not a P-256 point")
	}
	return base64.RawURLEncoding.EncodeToString(raw[1:33]), base64.RawURLEncoding.EncodeToString(raw[33:]), nil
}

// marshalPrivate encodes a private key as PKCS #8 DER.
func marshalPrivate(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return der, nil
}

// parsePrivate decodes a PKCS #8 DER P-256 private key.
func parsePrivate(der []byte) (*ecdsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("parse private key: not a P-256 ECDSA key")
	}
	return ec, nil
}
