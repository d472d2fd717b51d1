package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sync"
)

// RSA modulus bounds of a proof key: below 2048 bits is weak (RFC 7518
// §3.3 asks for at least 2048), above 8192 only costs the verifier.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// privateMembers are the JWK members that carry private or symmetric key
// material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). A proof's jwk
// holds a public key only (RFC 9449 §4.2); one with any of these is
// refused rather than stripped, since the client has leaked its key.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// publicJWK is a parsed proof key: the crypto key, the members of its
// RFC 7638 thumbprint input, and the JWS algorithms it can verify.
type publicJWK struct {
	key crypto.PublicKey
	// canonical is the RFC 7638 §3.2 thumbprint input: the required
	// members in lexicographic order, no whitespace.
	canonical string
	algs      []string
	// jkt is the thumbprint, computed once.
	jkt string
}

// parseJWKJSON reads a proof's jwk header parameter as JSON: it must be
// an object, read as parseJWK reads it.
func parseJWKJSON(raw []byte) (*publicJWK, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errors.New("the jwk header parameter is required")
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errors.New("the jwk header parameter is not a JSON object")
	}
	k, err := parseJWK(m)
	if err != nil {
		return nil, err
	}
	k.jkt = k.thumbprint()
	return k, nil
}

// Bounds of the key cache: a client uses one key for many proofs, so
// parsing it (base64, the point's check, the thumbprint) once is enough.
const (
	keyCacheEntries = 1024
	// maxCachedJWK leaves larger keys (RSA above 4096 bits) uncached, so
	// that the cache holds at most about 2 MiB of key JSON.
	maxCachedJWK = 2 << 10
)

// keyCache maps a jwk's exact JSON text to its parsed key. A parsed key is
// immutable and a function of that text alone, so a hit is what parsing
// would return; only keys that parsed are kept. When full it starts over.
type keyCache struct {
	mu sync.RWMutex
	m  map[string]*publicJWK
}

// key is the parsed jwk whose JSON text is raw.
func (c *keyCache) key(raw []byte) (*publicJWK, error) {
	c.mu.RLock()
	k := c.m[string(raw)]
	c.mu.RUnlock()
	if k != nil {
		return k, nil
	}
	k, err := parseJWKJSON(raw)
	if err != nil || len(raw) > maxCachedJWK {
		return k, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= keyCacheEntries {
		c.m = make(map[string]*publicJWK, 64)
	}
	c.m[string(raw)] = k
	c.mu.Unlock()
	return k, nil
}

// rawJWK holds the members a public JWK may use here.
type rawJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
}

var b64 = base64.RawURLEncoding.Strict()

// parseJWK reads the jwk header parameter of a proof: an EC (P-256, P-384,
// P-521), OKP (Ed25519) or RSA public key. Coordinates must be full length
// (RFC 7518 §6.2.1.2, RFC 8037 §2) and RSA integers minimal (RFC 7518
// §6.3.1), so that the members, and with them the thumbprint, are
// canonical: one key has one thumbprint.
func parseJWK(m map[string]any) (*publicJWK, error) {
	for _, p := range privateMembers {
		if _, ok := m[p]; ok {
			return nil, fmt.Errorf("the jwk holds the private member %q; it must be a public key", p)
		}
	}
	js, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode jwk: %w", err)
	}
	var k rawJWK
	if err := json.Unmarshal(js, &k); err != nil {
		return nil, errors.New("the jwk members are not strings")
	}
	switch k.Kty {
	case "EC":
		return parseEC(k)
	case "OKP":
		return parseOKP(k)
	case "RSA":
		return parseRSA(k)
	default:
		return nil, fmt.Errorf("unsupported jwk kty %q", clip(k.Kty))
	}
}

func parseEC(k rawJWK) (*publicJWK, error) {
	var curve elliptic.Curve
	var alg string
	switch k.Crv {
	case "P-256":
		curve, alg = elliptic.P256(), "ES256"
	case "P-384":
		curve, alg = elliptic.P384(), "ES384"
	case "P-521":
		curve, alg = elliptic.P521(), "ES512"
	default:
		return nil, fmt.Errorf("unsupported EC curve %q", clip(k.Crv))
	}
	size := (curve.Params().BitSize + 7) / 8
	x, errX := b64.DecodeString(k.X)
	y, errY := b64.DecodeString(k.Y)
	if errX != nil || errY != nil || len(x) != size || len(y) != size {
		return nil, errors.New("the EC jwk's x and y must be base64url coordinates of the curve's full size")
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, errors.New("the EC jwk is not a point on its curve")
	}
	canon := `{"crv":"` + k.Crv + `","kty":"EC","x":"` + k.X + `","y":"` + k.Y + `"}`
	return &publicJWK{key: pub, canonical: canon, algs: []string{alg}}, nil
}

func parseOKP(k rawJWK) (*publicJWK, error) {
	if k.Crv != "Ed25519" {
		return nil, fmt.Errorf("unsupported OKP curve %q", clip(k.Crv))
	}
	x, err := b64.DecodeString(k.X)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return nil, errors.New("the Ed25519 jwk's x must be 32 base64url bytes")
	}
	canon := `{"crv":"Ed25519","kty":"OKP","x":"` + k.X + `"}`
	return &publicJWK{key: ed25519.PublicKey(x), canonical: canon, algs: []string{"EdDSA"}}, nil
}

func parseRSA(k rawJWK) (*publicJWK, error) {
	n, errN := b64.DecodeString(k.N)
	e, errE := b64.DecodeString(k.E)
	if errN != nil || errE != nil || len(n) == 0 || len(e) == 0 || n[0] == 0 || e[0] == 0 {
		return nil, errors.New("the RSA jwk's n and e must be minimal base64url integers")
	}
	if len(e) > 4 {
		return nil, errors.New("the RSA jwk's exponent is too large")
	}
	exp := int(new(big.Int).SetBytes(e).Int64())
	mod := new(big.Int).SetBytes(n)
	if bits := mod.BitLen(); bits < minRSABits || bits > maxRSABits {
		return nil, fmt.Errorf("the RSA jwk's modulus has %d bits; %d to %d are accepted", bits, minRSABits, maxRSABits)
	}
	if exp < 3 || exp%2 == 0 {
		return nil, errors.New("the RSA jwk's exponent is not an odd number of at least 3")
	}
	canon := `{"e":"` + k.E + `","kty":"RSA","n":"` + k.N + `"}`
	return &publicJWK{key: &rsa.PublicKey{N: mod, E: exp}, canonical: canon, algs: []string{"RS256", "PS256"}}, nil
}

// thumbprint is the RFC 7638 JWK SHA-256 thumbprint, base64url without
// padding: the value of cnf.jkt (RFC 9449 §6.1).
func (k *publicJWK) thumbprint() string {
	sum := sha256.Sum256([]byte(k.canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of a public JWK given as
// JSON, as cnf.jkt holds it. It refuses what a proof's jwk may not be.
func Thumbprint(jwk []byte) (string, error) {
	var m map[string]any
	if err := json.Unmarshal(jwk, &m); err != nil {
		return "", fmt.Errorf("decode jwk: %w", err)
	}
	k, err := parseJWK(m)
	if err != nil {
		return "", err
	}
	return k.thumbprint(), nil
}

// clip shortens a caller-chosen value quoted in an error message.
func clip(s string) string {
	if len(s) > 16 {
		return s[:16] + "..."
	}
	return s
}
