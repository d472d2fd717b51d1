package dpopproof

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Signer makes proofs with one P-256 key.
type Signer struct {
	key *ecdsa.PrivateKey
	jwk map[string]any
	jkt string
}

// Generate makes a fresh P-256 key.
func Generate() (*Signer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate the DPoP key: %w", err)
	}
	return New(k)
}

// New is a signer for k, which must be a P-256 key.
func New(k *ecdsa.PrivateKey) (*Signer, error) {
	if k.Curve != elliptic.P256() {
		return nil, errors.New("a DPoP key for ES256 must be on P-256")
	}
	raw, err := k.PublicKey.Bytes() // 04 || X || Y
	if err != nil {
		return nil, fmt.Errorf("encode the DPoP public key: %w", err)
	}
	x, y := b64(raw[1:33]), b64(raw[33:])
	// RFC 7638: the required members in lexicographic order, no spaces.
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	return &Signer{key: k, jwk: map[string]any{"kty": "EC", "crv": "P-256", "x": x, "y": y}, jkt: b64(sum[:])}, nil
}

// Thumbprint is the key's RFC 7638 thumbprint, the cnf.jkt of the tokens
// bound to it.
func (s *Signer) Thumbprint() string { return s.jkt }

// Proof signs a proof for htm and htu at now; with a token, ath is its
// hash.
func (s *Signer) Proof(htm, htu, token string, now time.Time) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	claims := jwt.MapClaims{"jti": b64(jti), "htm": htm, "htu": htu, "iat": now.Unix()}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		claims["ath"] = b64(sum[:])
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["typ"] = "dpop+jwt"
	t.Header["jwk"] = s.jwk
	p, err := t.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("sign a DPoP proof: %w", err)
	}
	return p, nil
}

// Hook sets a fresh proof for htu in the DPoP header of every request it is
// given: htm is the request's method, and when the request carries
// "Authorization: DPoP <token>", ath is that token's hash.
func (s *Signer) Hook(htu string) func(*http.Request) error {
	return func(req *http.Request) error {
		token, bound := strings.CutPrefix(req.Header.Get("Authorization"), "DPoP ")
		if !bound {
			token = ""
		}
		p, err := s.Proof(req.Method, htu, token, time.Now())
		if err != nil {
			return err
		}
		req.Header.Set("DPoP", p)
		return nil
	}
}

// WriteKey writes the key to path as a PKCS#8 PEM file readable by its
// owner only.
func (s *Signer) WriteKey(path string) error {
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		return fmt.Errorf("encode the DPoP key: %w", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("write the DPoP key: %w", err)
	}
	return nil
}

// ReadKey reads a signer's key written by WriteKey.
func ReadKey(path string) (*Signer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the DPoP key: %w", err)
	}
	b, _ := pem.Decode(raw)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("read the DPoP key %s: no PKCS#8 PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse the DPoP key %s: %w", path, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the DPoP key %s is not an EC key", path)
	}
	return New(ek)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
