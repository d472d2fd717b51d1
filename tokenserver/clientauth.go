package tokenserver

import (
	"net/http"
	"strconv"

	"github.com/scopegate/scopegate/tokenserver/registry"
)

// basicChallenge answers a failed client_secret_basic (RFC 6749 §5.2).
const basicChallenge = `Basic realm="scopegate", charset="UTF-8"`

// MaxClientIDLength is the longest client_id a client can have:
// "<namespace>.<name>" with a namespace of at most 63 characters (a DNS
// label) and a name of at most 253 (a DNS subdomain).
const MaxClientIDLength = 63 + 1 + 253

// authenticate checks the request's client credentials (RFC 6749 §2.3.1),
// with the same rules at every endpoint. Failures are rate limited per
// client_id and per source address; a suspended client fails like a wrong
// secret. It sets WWW-Authenticate or Retry-After on w when it fails.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, c credentials) (*registry.Client, *Error) {
	now := s.now()
	addr := clientAddr(r, s.opts.TrustedProxies)
	// A client_id no client can have is not a limiter key: the table's
	// memory is bounded by entries × key length, and the caller picks the
	// key. Its failures still count against the source address.
	byID := c.ID != "" && len(c.ID) <= MaxClientIDLength
	limited, wait := s.failedByIP.exhausted(addr, now)
	if !limited && byID {
		limited, wait = s.failedByID.exhausted(c.ID, now)
	}
	if limited {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
		return nil, oauthError(http.StatusTooManyRequests, ErrCodeTemporarilyUnavailable, "too many failed client authentications; retry later")
	}

	var client *registry.Client
	ok := false
	if byID && c.Secret != "" {
		client, ok = s.opts.Registry.Authenticate(c.ID, c.Secret, now)
	}
	if ok && !client.Suspended {
		return client, nil
	}
	s.failedByIP.spend(addr, now)
	if byID {
		s.failedByID.spend(c.ID, now)
	}
	s.opts.Log.V(1).Info("Client authentication failed", "clientID", truncate(c.ID), "source", addr, "basic", c.Basic)
	if c.Basic {
		w.Header().Set("WWW-Authenticate", basicChallenge)
	}
	return nil, errInvalidClient()
}
