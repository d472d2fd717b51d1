package dpop

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults of Options.
const (
	// DefaultMaxAge is how old a proof's iat may be. RFC 9449 §11.1 asks
	// for "a reasonably short window"; a proof is made for one request, so
	// a minute covers the request's transit and a retry.
	DefaultMaxAge = time.Minute
	// DefaultFutureLeeway is how far ahead of the server's clock a proof's
	// iat may be: clock skew. A client with a worse clock obtains a server
	// nonce, or corrects its clock by the Date header.
	DefaultFutureLeeway = 10 * time.Second
	// MaxProofBytes bounds a DPoP header value: an RSA-8192 jwk in a proof
	// is about 2 KiB.
	MaxProofBytes = 8 << 10
	// maxJTILength bounds the jti; RFC 9449 §4.2 asks for 96 random bits.
	maxJTILength = 256
)

// Typ is the JOSE typ of a DPoP proof (RFC 9449 §4.2).
const Typ = "dpop+jwt"

// Algorithms are the JWS algorithms a proof may be signed with: asymmetric
// only, never none or a MAC (RFC 9449 §4.2). It is also the metadata's
// dpop_signing_alg_values_supported.
func Algorithms() []string { return []string{"ES256", "ES384", "ES512", "EdDSA", "RS256", "PS256"} }

// Why a proof is refused. ErrInvalidProof is the client's fault
// (invalid_dpop_proof); ErrUseNonce means the proof is valid but lacks the
// current server nonce (use_dpop_nonce, RFC 9449 §8). Verify's errors wrap
// one of them, or ErrReplayCacheFull.
var (
	ErrInvalidProof = errors.New("invalid DPoP proof")
	ErrUseNonce     = errors.New("DPoP proof lacks a valid server nonce")
)

// Options configure a Verifier.
type Options struct {
	// Algorithms accepted; default Algorithms().
	Algorithms []string
	// MaxAge and FutureLeeway bound iat; defaults DefaultMaxAge and
	// DefaultFutureLeeway.
	MaxAge       time.Duration
	FutureLeeway time.Duration
	// ReplayEntries bounds the replay cache; default DefaultReplayEntries.
	ReplayEntries int
	// Nonces, when set, makes a server nonce required in every proof.
	Nonces *Nonces
	Now    func() time.Time
}

// Verifier checks DPoP proofs. It is safe for concurrent use.
type Verifier struct {
	opts Options
	// methods are the accepted algorithms' signature checks (golang-jwt's).
	methods map[string]jwt.SigningMethod
	keys    keyCache
	replay  *replayCache
}

// NewVerifier returns a Verifier.
func NewVerifier(o Options) *Verifier {
	if len(o.Algorithms) == 0 {
		o.Algorithms = Algorithms()
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.FutureLeeway <= 0 {
		o.FutureLeeway = DefaultFutureLeeway
	}
	if o.ReplayEntries <= 0 {
		o.ReplayEntries = DefaultReplayEntries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	methods := map[string]jwt.SigningMethod{}
	for _, alg := range o.Algorithms {
		if m := jwt.GetSigningMethod(alg); m != nil && slices.Contains(Algorithms(), alg) {
			methods[alg] = m
		}
	}
	return &Verifier{
		opts:    o,
		methods: methods,
		// A proof is accepted until its iat is MaxAge old, and its iat may
		// be FutureLeeway ahead: it must be remembered that long.
		replay: newReplayCache(o.MaxAge+o.FutureLeeway, o.ReplayEntries),
	}
}

// Algorithms are the accepted JWS algorithms.
func (v *Verifier) Algorithms() []string { return slices.Clone(v.opts.Algorithms) }

// Nonces is the nonce source, nil when nonces are not required.
func (v *Verifier) Nonces() *Nonces { return v.opts.Nonces }

// Request is what a proof must match.
type Request struct {
	// Method is the HTTP method (htm).
	Method string
	// URL is the request's URL as the client addressed it (htu): behind a
	// proxy, the external URL. Query and fragment are ignored.
	URL string
	// AccessToken, when set, is the token presented with the proof, whose
	// hash ath must be (RFC 9449 §4.3 check 12).
	AccessToken string
	// Peek checks the proof, a replay included, without recording its
	// jti: for explaining a request, which must not use the proof up.
	Peek bool
}

// Proof is a verified proof.
type Proof struct {
	// JKT is the RFC 7638 thumbprint of the proof's key: cnf.jkt.
	JKT      string
	Alg      string
	IssuedAt time.Time
}

// proofHeader is what the verifier reads of a proof's JOSE header.
type proofHeader struct {
	alg, typ string
	jwk      []byte
	crit     bool
}

// proofClaims are a proof's claims (RFC 9449 §4.2); iat is nil when absent.
type proofClaims struct {
	JTI, HTM, HTU, ATH, Nonce string
	IAT                       *jwt.NumericDate
}

// Verify checks one proof against req, in RFC 9449 §4.3's order, and then
// records its jti: a proof is accepted once. The checks are: a single
// well-formed JWS; typ dpop+jwt; an accepted asymmetric alg; no crit; a
// public jwk of a type that alg can use, which verifies the signature;
// jti, htm, htu and iat present; htm equal to the method; htu equal to
// the URL once both are normalised; iat within [now - MaxAge, now +
// FutureLeeway]; ath equal to the token's hash when a token is presented
// (and absent otherwise is not required); the server nonce when nonces are
// on. The header and claims members read are matched by their exact names
// and may appear once each.
func (v *Verifier) Verify(raw string, req Request) (*Proof, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: no DPoP proof", ErrInvalidProof)
	}
	if len(raw) > MaxProofBytes {
		return nil, fmt.Errorf("%w: the proof exceeds %d bytes", ErrInvalidProof, MaxProofBytes)
	}
	key, claims, alg, err := v.verifySignature(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	htu, err := v.checkClaims(claims, req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if n := v.opts.Nonces; n != nil {
		ok, err := n.valid(claims.Nonce)
		if err != nil {
			return nil, fmt.Errorf("check DPoP nonce: %w", err)
		}
		if !ok {
			return nil, ErrUseNonce
		}
	}
	var fresh bool
	if req.Peek {
		fresh = !v.replay.seen(replayKey(key.jkt, htu, claims.JTI), v.opts.Now())
	} else if fresh, err = v.replay.add(replayKey(key.jkt, htu, claims.JTI), v.opts.Now()); err != nil {
		return nil, err
	}
	if !fresh {
		return nil, fmt.Errorf("%w: the proof's jti was used before", ErrInvalidProof)
	}
	return &Proof{JKT: key.jkt, Alg: alg, IssuedAt: claims.IAT.Time}, nil
}

// verifySignature reads the compact JWS raw (RFC 7515 §7.1: three base64url
// parts without padding), applies RFC 9449 §4.3 checks 2 to 7 and returns
// the proof's key, claims and alg.
func (v *Verifier) verifySignature(raw string) (*publicJWK, *proofClaims, string, error) {
	h64, rest, ok1 := strings.Cut(raw, ".")
	c64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return nil, nil, "", errors.New("the proof is malformed: a JWS has three parts")
	}
	// One buffer for the three decoded parts, one for their text.
	text := []byte(raw)
	buf := make([]byte, b64.DecodedLen(len(h64))+b64.DecodedLen(len(c64))+b64.DecodedLen(len(s64)))
	hdrJSON, n, err := decodePart(buf, text[:len(h64)])
	if err != nil {
		return nil, nil, "", fmt.Errorf("the proof is malformed: header: %w", err)
	}
	claimsJSON, m, err := decodePart(buf[n:], text[len(h64)+1:len(h64)+1+len(c64)])
	if err != nil {
		return nil, nil, "", fmt.Errorf("the proof is malformed: claims: %w", err)
	}
	sig, _, err := decodePart(buf[n+m:], text[len(raw)-len(s64):])
	if err != nil {
		return nil, nil, "", fmt.Errorf("the proof is malformed: signature: %w", err)
	}
	h, err := readHeader(hdrJSON)
	if err != nil {
		return nil, nil, "", fmt.Errorf("the proof is malformed: header: %w", err)
	}
	claims, err := readClaims(claimsJSON)
	if err != nil {
		return nil, nil, "", fmt.Errorf("the proof is malformed: claims: %w", err)
	}
	method, ok := v.methods[h.alg]
	if !ok {
		return nil, nil, "", fmt.Errorf("signing method %s is invalid", clip(h.alg))
	}
	if h.typ != Typ {
		return nil, nil, "", fmt.Errorf("typ must be %s", Typ)
	}
	if h.crit {
		return nil, nil, "", errors.New("no crit header parameter is understood")
	}
	key, err := v.keys.key(h.jwk)
	if err != nil {
		return nil, nil, "", err
	}
	if !slices.Contains(key.algs, h.alg) {
		return nil, nil, "", fmt.Errorf("alg %s cannot be used with this jwk", h.alg)
	}
	if err := method.Verify(raw[:len(h64)+1+len(c64)], sig, key.key); err != nil {
		return nil, nil, "", fmt.Errorf("the proof's signature is invalid: %w", err)
	}
	return key, claims, h.alg, nil
}

// decodePart decodes the base64url part s (no padding, canonical: RFC 7515
// §2) into the start of buf, returning it and its length.
func decodePart(buf, s []byte) ([]byte, int, error) {
	n, err := b64.Decode(buf, s)
	if err != nil {
		return nil, 0, errors.New("not canonical base64url without padding")
	}
	return buf[:n:n], n, nil
}

// Members read from the header and the claims, for seen.
const (
	mAlg uint8 = 1 << iota
	mTyp
	mJWK
	mCrit
)

const (
	mJTI uint8 = 1 << iota
	mHTM
	mHTU
	mIAT
	mATH
	mNonce
)

// readHeader reads a proof's JOSE header.
func readHeader(js []byte) (proofHeader, error) {
	var h proofHeader
	var set uint8
	err := jsonMembers(js, func(name, value []byte) (err error) {
		switch string(name) {
		case "alg":
			if err = seen(&set, mAlg, name); err == nil {
				h.alg, err = jsonString("alg", value)
			}
		case "typ":
			if err = seen(&set, mTyp, name); err == nil {
				h.typ, err = jsonString("typ", value)
			}
		case "jwk":
			if err = seen(&set, mJWK, name); err == nil {
				h.jwk = value
			}
		case "crit":
			if err = seen(&set, mCrit, name); err == nil {
				h.crit = true
			}
		}
		return err
	})
	return h, err
}

// readClaims reads a proof's claims.
func readClaims(js []byte) (*proofClaims, error) {
	c := &proofClaims{}
	var set uint8
	err := jsonMembers(js, func(name, value []byte) (err error) {
		switch string(name) {
		case "jti":
			if err = seen(&set, mJTI, name); err == nil {
				c.JTI, err = jsonString("jti", value)
			}
		case "htm":
			if err = seen(&set, mHTM, name); err == nil {
				c.HTM, err = jsonString("htm", value)
			}
		case "htu":
			if err = seen(&set, mHTU, name); err == nil {
				c.HTU, err = jsonString("htu", value)
			}
		case "ath":
			if err = seen(&set, mATH, name); err == nil {
				c.ATH, err = jsonString("ath", value)
			}
		case "nonce":
			if err = seen(&set, mNonce, name); err == nil {
				c.Nonce, err = jsonString("nonce", value)
			}
		case "iat":
			if err = seen(&set, mIAT, name); err == nil && string(value) != "null" {
				// A NumericDate is a JSON number (RFC 7519 §2), not a
				// string holding one, which jwt.NumericDate would take.
				c.IAT = &jwt.NumericDate{}
				if value[0] == '"' || c.IAT.UnmarshalJSON(value) != nil {
					err = errors.New("iat must be a number")
				}
			}
		}
		return err
	})
	return c, err
}

// checkClaims applies RFC 9449 §4.3 checks 3, 8, 9, 11 and 12 and returns
// the normalised htu.
func (v *Verifier) checkClaims(c *proofClaims, req Request) (string, error) {
	switch {
	case c.JTI == "":
		return "", errors.New("jti is required")
	case len(c.JTI) > maxJTILength:
		return "", fmt.Errorf("jti exceeds %d bytes", maxJTILength)
	case c.HTM == "" || c.HTU == "" || c.IAT == nil:
		return "", errors.New("htm, htu and iat are required")
	case c.HTM != req.Method:
		return "", errors.New("htm does not match the request method")
	}
	got, err := NormalizeURL(c.HTU)
	if err != nil {
		return "", fmt.Errorf("htu: %w", err)
	}
	want := got // the same text normalises the same
	if req.URL != c.HTU {
		want, err = NormalizeURL(req.URL)
	}
	if err != nil || got != want {
		return "", errors.New("htu does not match the request URL")
	}
	now := v.opts.Now()
	iat := c.IAT.Time
	if iat.Before(now.Add(-v.opts.MaxAge)) {
		return "", fmt.Errorf("iat is more than %s old", v.opts.MaxAge)
	}
	if iat.After(now.Add(v.opts.FutureLeeway)) {
		return "", errors.New("iat is in the future")
	}
	if req.AccessToken != "" {
		sum := sha256.Sum256([]byte(req.AccessToken))
		var ath [43]byte // base64url of 32 bytes, unpadded
		base64.RawURLEncoding.Encode(ath[:], sum[:])
		if subtle.ConstantTimeCompare(ath[:], []byte(c.ATH)) != 1 {
			return "", errors.New("ath does not match the access token")
		}
	}
	return got, nil
}
