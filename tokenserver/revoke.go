package tokenserver

import (
	"context"
	"net/http"
	"strconv"
)

// handleRevoke is RFC 7009. A client may revoke only its own tokens;
// anything else — another client's token, an unknown, expired or garbage
// token — answers 200 and changes nothing (§2.2), so the answer tells the
// caller nothing about foreign tokens. token_type_hint is accepted and
// ignored: only access tokens exist here (§2.1).
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	client, token, ok := s.tokenRequest(w, r)
	if !ok {
		return
	}
	c, _, err := s.verifySigned(token)
	if err == nil && c.ClientID == client.ID {
		// Store even when this replica already holds the jti: a store may
		// record it here before persisting it (revocation.Cluster does), so
		// after a failed attempt only the client's retry persists it.
		// Storing is idempotent.
		known := s.opts.Revocations.Revoked(c.ID)
		if !known {
			if ok, wait := s.revokedByID.allow(client.ID, s.now()); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
				writeError(w, oauthError(http.StatusTooManyRequests, ErrCodeTemporarilyUnavailable, "too many revocations from this client; retry later"))
				return
			}
		}
		// A revocation is stored in the cluster or not answered 200: when
		// the API server does not confirm within WriteTimeout (an outage),
		// the client hears so at once and retries, rather than hanging.
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.WriteTimeout)
		err := s.opts.Revocations.Revoke(ctx, c.ID, c.ExpiresAt.Time)
		cancel()
		if err != nil {
			// RFC 7009 §2.2.1: the server could not revoke; the client may
			// retry.
			s.opts.Log.Error(err, "Cannot store revocation", "clientID", client.ID, "jti", c.ID)
			writeError(w, unavailable("cannot store the revocation now; retry later"))
			return
		}
		if !known {
			s.metrics.revoked.Inc()
			s.opts.Log.Info("Revoked access token", "clientID", client.ID, "jti", c.ID)
		}
	}
	w.WriteHeader(http.StatusOK)
}
