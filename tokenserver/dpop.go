package tokenserver

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"

	"github.com/scopegate/scopegate/internal/dpop"
	"github.com/scopegate/scopegate/tokenserver/keys"
)

// dpopBinding is the token endpoint's DPoP step (RFC 9449 §5): the
// thumbprint of the key the token is to be bound to, "" for a bearer
// token. The proof must be for a POST to the token_endpoint URL of the
// metadata: the issuer is the external URL, whatever host or proxy the
// request came through. A client with RequireDPoP must send one. The
// proof is never logged.
func (s *Server) dpopBinding(r *http.Request, c authenticated) (string, *Error) {
	raw, err := dpop.FromHeader(r.Header)
	if err == nil && raw == "" {
		if !c.RequireDPoP {
			return "", nil
		}
		err = fmt.Errorf("%w: this client must send a DPoP proof", dpop.ErrInvalidProof)
	}
	var p *dpop.Proof
	if err == nil {
		p, err = s.dpop.Verify(raw, dpop.Request{Method: r.Method, URL: s.opts.Issuer + PathToken})
	}
	switch {
	case err == nil:
		return p.JKT, nil
	case errors.Is(err, dpop.ErrUseNonce):
		return "", badRequest(ErrCodeUseDPoPNonce, "the DPoP proof must carry the server nonce sent in the DPoP-Nonce header")
	case errors.Is(err, dpop.ErrInvalidProof):
		s.opts.Log.V(1).Info("DPoP proof refused", "clientID", c.ID, "reason", err.Error())
		return "", badRequest(ErrCodeInvalidDPoPProof, err.Error())
	case errors.Is(err, dpop.ErrReplayCacheFull):
		s.opts.Log.Error(err, "Cannot accept a DPoP proof", "clientID", c.ID)
		return "", unavailable("too many DPoP proofs in flight; retry later")
	case errors.Is(err, keys.ErrNoKey):
		return "", unavailable("signing keys are not loaded yet")
	default:
		s.opts.Log.Error(err, "Cannot check a DPoP proof", "clientID", c.ID)
		return "", oauthError(http.StatusInternalServerError, ErrCodeServerError, "cannot check the DPoP proof")
	}
}

// setDPoPNonce sends the current server nonce when nonces are required
// (RFC 9449 §8), on every answer of the token endpoint, so that a client
// has one for its next proof before it is refused for lacking it.
func (s *Server) setDPoPNonce(w http.ResponseWriter) {
	n := s.dpop.Nonces()
	if n == nil {
		return
	}
	if v, err := n.Current(); err == nil {
		w.Header().Set(dpop.NonceHeader, v)
	}
}

// nonceKeyInfo separates the nonce key from every other use of a signing
// key (RFC 5869 §3.2).
const nonceKeyInfo = "scopegate DPoP-Nonce key v1"

// dpopNonceKeys derives the nonce keys from the signing keys with HKDF: the
// current key's first, then the other published ones. Every replica reads
// the same signing-keys Secret, so every replica makes and accepts the
// same nonces, also across a rotation (a nonce made with the previous key
// verifies while that key is published), and nothing new is stored.
// Knowing a nonce key reveals nothing about the signing key.
func (s *Server) dpopNonceKeys() ([][]byte, error) {
	cur, err := s.opts.Keys.Signing()
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, 3)
	add := func(k keys.Key) error {
		secret, err := k.Private.Bytes()
		if err != nil {
			return fmt.Errorf("read signing key %s: %w", k.ID, err)
		}
		nk, err := hkdf.Key(sha256.New, secret, nil, nonceKeyInfo, sha256.Size)
		if err != nil {
			return fmt.Errorf("derive DPoP nonce key: %w", err)
		}
		out = append(out, nk)
		return nil
	}
	if err := add(cur); err != nil {
		return nil, err
	}
	for _, k := range s.opts.Keys.Published() {
		if k.ID != cur.ID {
			if err := add(k); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
