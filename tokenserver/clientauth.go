package tokenserver

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/tokenserver/workload"
)

// basicChallenge answers a failed client_secret_basic (RFC 6749 §5.2).
const basicChallenge = `Basic realm="scopegate", charset="UTF-8"`

// MaxClientIDLength is the longest client_id a client can have:
// "<namespace>.<name>" with a namespace of at most 63 characters (a DNS
// label) and a name of at most 253 (a DNS subdomain).
const MaxClientIDLength = 63 + 1 + 253

// WorkloadAuthenticator authenticates projected ServiceAccount tokens
// (workload.Reviewer). It returns workload.ErrNotAuthenticated for a token
// that does not authenticate and workload.ErrUnavailable when it cannot
// tell.
type WorkloadAuthenticator interface {
	Authenticate(ctx context.Context, token string) (workload.Identity, error)
}

// authenticated is a client that authenticated a request.
type authenticated struct {
	*registry.Client
	// ServiceAccount is the Kubernetes user name of the ServiceAccount whose
	// token authenticated the client; empty for a client secret.
	ServiceAccount string
	// x5t is the thumbprint of the client certificate that authenticated
	// the client (tls_client_auth), so that certBinding does not verify
	// the chain twice; empty otherwise.
	x5t string
}

// authenticate checks the request's client credentials (RFC 6749 §2.3.1,
// RFC 7523 §2.2), with the same rules at every endpoint. Failures are rate
// limited per client_id and per source address; a suspended client fails
// like a wrong secret. It sets WWW-Authenticate or Retry-After on w when it
// fails.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, c credentials) (authenticated, *Error) {
	return s.authenticateWith(w, r, c, errInvalidClient, func() (authenticated, bool, *Error) {
		if c.Assertion != "" {
			return s.assertedClient(r.Context(), c.ID, c.Assertion)
		}
		if c.ID == "" || len(c.ID) > MaxClientIDLength {
			return authenticated{}, false, nil
		}
		if c.Secret == "" && !c.Basic {
			a, ok := s.certificateClient(r, c.ID)
			return a, ok, nil
		}
		if c.Secret == "" {
			return authenticated{}, false, nil
		}
		client, ok := s.opts.Registry.Authenticate(c.ID, c.Secret, s.now())
		return authenticated{Client: client}, ok, nil
	})
}

// authenticateWith runs check under the failed-authentication limits:
// refused at once while c's client_id or source address is locked out,
// counted against both when check fails, which answers failure(). check
// returns an *Error only when it could not decide (the API server is
// unreachable), which is not counted.
func (s *Server) authenticateWith(w http.ResponseWriter, r *http.Request, c credentials, failure func() *Error, check func() (authenticated, bool, *Error)) (authenticated, *Error) {
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
		return authenticated{}, oauthError(http.StatusTooManyRequests, ErrCodeTemporarilyUnavailable, "too many failed client authentications; retry later")
	}

	a, ok, e := check()
	if e != nil {
		return authenticated{}, e
	}
	if ok && !a.Suspended {
		return a, nil
	}
	s.failedByIP.spend(addr, now)
	if byID {
		s.failedByID.spend(c.ID, now)
	}
	s.opts.Log.V(1).Info("Client authentication failed", "clientID", truncate(c.ID), "source", addr, "basic", c.Basic, "assertion", c.Assertion != "")
	if c.Basic {
		w.Header().Set("WWW-Authenticate", basicChallenge)
	}
	return authenticated{}, failure()
}

// assertedClient resolves the client that a ServiceAccount token
// authenticates: the TokenReview API vouches for the ServiceAccount, the
// registry names the client bound to it. A client_id, when sent, must be
// that client (RFC 7521 §4.2). The token is never logged.
func (s *Server) assertedClient(ctx context.Context, clientID, token string) (authenticated, bool, *Error) {
	if s.opts.Workloads == nil {
		return authenticated{}, false, nil
	}
	id, err := s.opts.Workloads.Authenticate(ctx, token)
	if err != nil {
		if errors.Is(err, workload.ErrUnavailable) {
			s.opts.Log.Error(err, "Cannot review a ServiceAccount token")
			return authenticated{}, false, unavailable("cannot verify the ServiceAccount token now; retry later")
		}
		s.opts.Log.V(1).Info("ServiceAccount token refused", "reason", err.Error())
		return authenticated{}, false, nil
	}
	client, ok := s.opts.Registry.ByServiceAccount(id.Namespace, id.Name)
	if !ok {
		s.opts.Log.V(1).Info("ServiceAccount is bound to no client", "serviceAccount", id.Username())
		return authenticated{}, false, nil
	}
	if clientID != "" && clientID != client.ID {
		return authenticated{}, false, nil
	}
	return authenticated{Client: client, ServiceAccount: id.Username()}, true, nil
}
