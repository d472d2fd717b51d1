package dpop

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
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
	opts   Options
	parser *jwt.Parser
	replay *replayCache
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
	return &Verifier{
		opts: o,
		// iat is checked here with its asymmetric window; exp and nbf mean
		// nothing in a proof (RFC 9449 §4.2 defines neither).
		parser: jwt.NewParser(jwt.WithValidMethods(o.Algorithms), jwt.WithoutClaimsValidation(), jwt.WithStrictDecoding()),
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

// proofClaims are a proof's claims (RFC 9449 §4.2).
type proofClaims struct {
	JTI   string           `json:"jti"`
	HTM   string           `json:"htm"`
	HTU   string           `json:"htu"`
	IAT   *jwt.NumericDate `json:"iat"`
	ATH   string           `json:"ath,omitempty"`
	Nonce string           `json:"nonce,omitempty"`
}

// jwt.Claims, for the parser; the times are checked by Verify.
func (c *proofClaims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (c *proofClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IAT, nil }
func (c *proofClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (c *proofClaims) GetIssuer() (string, error)                   { return "", nil }
func (c *proofClaims) GetSubject() (string, error)                  { return "", nil }
func (c *proofClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// Verify checks one proof against req, in RFC 9449 §4.3's order, and then
// records its jti: a proof is accepted once. The checks are: a single
// well-formed JWS; typ dpop+jwt; an accepted asymmetric alg; no crit; a
// public jwk of a type that alg can use, which verifies the signature;
// jti, htm, htu and iat present; htm equal to the method; htu equal to
// the URL once both are normalised; iat within [now - MaxAge, now +
// FutureLeeway]; ath equal to the token's hash when a token is presented
// (and absent otherwise is not required); the server nonce when nonces are
// on.
func (v *Verifier) Verify(raw string, req Request) (*Proof, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: no DPoP proof", ErrInvalidProof)
	}
	if len(raw) > MaxProofBytes {
		return nil, fmt.Errorf("%w: the proof exceeds %d bytes", ErrInvalidProof, MaxProofBytes)
	}
	var key *publicJWK
	claims := &proofClaims{}
	tok, err := v.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		k, err := checkHeader(t)
		if err != nil {
			return nil, err
		}
		key = k
		return k.key, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if err := v.checkClaims(claims, req); err != nil {
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
	jkt := key.thumbprint()
	htu, _ := NormalizeURL(claims.HTU) // checked equal to req.URL's form
	var fresh bool
	if req.Peek {
		fresh = !v.replay.seen(replayKey(jkt, htu, claims.JTI), v.opts.Now())
	} else if fresh, err = v.replay.add(replayKey(jkt, htu, claims.JTI), v.opts.Now()); err != nil {
		return nil, err
	}
	if !fresh {
		return nil, fmt.Errorf("%w: the proof's jti was used before", ErrInvalidProof)
	}
	return &Proof{JKT: jkt, Alg: tok.Method.Alg(), IssuedAt: claims.IAT.Time}, nil
}

// checkHeader applies RFC 9449 §4.3 checks 4, 5 and 7 to the JOSE header
// (the parser has limited alg to the accepted ones) and returns the key.
func checkHeader(t *jwt.Token) (*publicJWK, error) {
	if typ, _ := t.Header["typ"].(string); typ != Typ {
		return nil, fmt.Errorf("typ must be %s", Typ)
	}
	if _, ok := t.Header["crit"]; ok {
		return nil, errors.New("no crit header parameter is understood")
	}
	m, ok := t.Header["jwk"].(map[string]any)
	if !ok {
		return nil, errors.New("the jwk header parameter is required")
	}
	k, err := parseJWK(m)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(k.algs, t.Method.Alg()) {
		return nil, fmt.Errorf("alg %s cannot be used with this jwk", t.Method.Alg())
	}
	return k, nil
}

// checkClaims applies RFC 9449 §4.3 checks 3, 8, 9, 11 and 12.
func (v *Verifier) checkClaims(c *proofClaims, req Request) error {
	switch {
	case c.JTI == "":
		return errors.New("jti is required")
	case len(c.JTI) > maxJTILength:
		return fmt.Errorf("jti exceeds %d bytes", maxJTILength)
	case c.HTM == "" || c.HTU == "" || c.IAT == nil:
		return errors.New("htm, htu and iat are required")
	case c.HTM != req.Method:
		return errors.New("htm does not match the request method")
	}
	got, err := NormalizeURL(c.HTU)
	if err != nil {
		return fmt.Errorf("htu: %w", err)
	}
	want, err := NormalizeURL(req.URL)
	if err != nil || got != want {
		return errors.New("htu does not match the request URL")
	}
	now := v.opts.Now()
	iat := c.IAT.Time
	if iat.Before(now.Add(-v.opts.MaxAge)) {
		return fmt.Errorf("iat is more than %s old", v.opts.MaxAge)
	}
	if iat.After(now.Add(v.opts.FutureLeeway)) {
		return errors.New("iat is in the future")
	}
	if req.AccessToken != "" {
		sum := sha256.Sum256([]byte(req.AccessToken))
		ath := base64.RawURLEncoding.EncodeToString(sum[:])
		if subtle.ConstantTimeCompare([]byte(ath), []byte(c.ATH)) != 1 {
			return errors.New("ath does not match the access token")
		}
	}
	return nil
}
