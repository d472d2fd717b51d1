package tokenserver

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scopegate/scopegate/internal/accesstoken"
)

// Verify implements accesstoken.Verifier. The signature, issuer, type and lifetime
// are checked once per token and cached; revocation and the client's state
// are checked on every call, so that revoking a token, suspending or
// deleting a client takes effect at once.
func (s *Server) Verify(_ context.Context, raw string) (*accesstoken.Claims, error) {
	c, cached, err := s.verifySigned(raw)
	if err == nil {
		err = s.checkLive(c)
	}
	s.metrics.verified(err == nil, cached).Inc()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// verifySigned checks what a signed token says about itself (through the
// cache): signature against a published key, iss, typ, exp and nbf. A
// cached token is refused as soon as its key leaves the key set (a replaced
// signing-keys Secret), as an uncached one would be.
func (s *Server) verifySigned(raw string) (*accesstoken.Claims, bool, error) {
	now := s.now()
	// Hash the string's bytes in place: the conversion []byte(raw) would
	// copy the token to the heap on every request. Sum256 only reads them.
	k := sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
	if c, kid, ok := s.cache.get(k, now); ok {
		if _, published := s.opts.Keys.PublicKey(kid); !published {
			return nil, true, fmt.Errorf("%w: signing key no longer published", accesstoken.ErrInvalidToken)
		}
		return c, true, nil
	}
	c, kid, err := s.parse(raw)
	if err != nil {
		return nil, false, err
	}
	s.cache.put(k, c, kid, c.ExpiresAt.Add(s.opts.Leeway), now)
	return c, false, nil
}

// parse verifies a token with golang-jwt's explicit options (RFC 9068 §4)
// and returns its claims and the kid that signed it.
func (s *Server) parse(raw string) (*accesstoken.Claims, string, error) {
	c := &accesstoken.Claims{}
	t, err := jwt.ParseWithClaims(raw, c, s.keyFunc,
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithIssuer(s.opts.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(s.opts.Leeway),
		jwt.WithTimeFunc(s.opts.Now),
	)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", accesstoken.ErrInvalidToken, err)
	}
	if c.ID == "" || c.ClientID == "" {
		return nil, "", fmt.Errorf("%w: jti and client_id are required", accesstoken.ErrInvalidToken)
	}
	// The gateway forwards these as identity headers and logs them: a
	// control character (encoding/json decodes \u0000 and friends) must not
	// reach a backend or a log line.
	for _, v := range [...]string{c.ID, c.ClientID, c.Subject, c.Scope, c.PluginID, c.SessionID, c.ServiceAccount} {
		if !isText(v) {
			return nil, "", fmt.Errorf("%w: an identity claim holds a control character", accesstoken.ErrInvalidToken)
		}
	}
	kid, _ := t.Header["kid"].(string) // keyFunc found a key by it
	return c, kid, nil
}

// keyFunc checks the JOSE header (RFC 9068 §4: typ at+jwt) and finds the
// published key named by kid.
func (s *Server) keyFunc(t *jwt.Token) (any, error) {
	if err := checkCrit(t.Header); err != nil {
		return nil, err
	}
	typ, _ := t.Header["typ"].(string)
	if typ != accesstoken.TypAccessToken && typ != "application/"+accesstoken.TypAccessToken {
		return nil, errors.New("typ is not at+jwt")
	}
	kid, _ := t.Header["kid"].(string)
	pub, ok := s.opts.Keys.PublicKey(kid)
	if !ok {
		return nil, errors.New("unknown signing key")
	}
	return pub, nil
}

// checkCrit refuses a JOSE header with a crit parameter (RFC 7515
// §4.1.11). scopegate implements no JWS extension, so a recipient that
// "does not understand" every listed one MUST reject the JWS; the other
// violations (not an array, empty, a registered name, a name whose member
// is absent) are refused too, with their own reason. Tokens scopegate
// issues never carry crit. Called before the signature is checked, so such
// a token never reaches the verification cache.
func checkCrit(header map[string]any) error {
	v, ok := header["crit"]
	if !ok {
		return nil
	}
	names, ok := v.([]any)
	if !ok {
		return errors.New("crit is not an array")
	}
	if len(names) == 0 {
		return errors.New("crit is empty")
	}
	for _, n := range names {
		name, ok := n.(string)
		switch {
		case !ok:
			return errors.New("crit lists a non-string")
		case registeredJOSEHeader[name]:
			return errors.New("crit lists a registered header parameter")
		case !present(header, name):
			return errors.New("crit lists an absent header parameter")
		}
	}
	return errors.New("crit lists an extension that is not understood")
}

// registeredJOSEHeader are the header parameters that RFC 7515 §4.1 and
// RFC 7518 §4.1 (JWS use) define; they must not appear in crit.
var registeredJOSEHeader = map[string]bool{
	"alg": true, "jku": true, "jwk": true, "kid": true, "x5u": true, "x5c": true,
	"x5t": true, "x5t#S256": true, "typ": true, "cty": true, "crit": true,
	"epk": true, "apu": true, "apv": true, "iv": true, "tag": true, "p2s": true, "p2c": true,
}

// checkLive checks what may change during a token's life: revocation and
// the client's existence and suspension.
func (s *Server) checkLive(c *accesstoken.Claims) error {
	if s.opts.Revocations.Revoked(c.ID) {
		return fmt.Errorf("%w: %w", accesstoken.ErrInvalidToken, accesstoken.ErrRevoked)
	}
	client, ok := s.opts.Registry.Get(c.ClientID)
	if !ok {
		return fmt.Errorf("%w: %w", accesstoken.ErrInvalidToken, accesstoken.ErrClientDeleted)
	}
	if client.Suspended {
		return fmt.Errorf("%w: %w", accesstoken.ErrInvalidToken, accesstoken.ErrClientSuspended)
	}
	return nil
}

func present(header map[string]any, name string) bool {
	_, ok := header[name]
	return ok
}
