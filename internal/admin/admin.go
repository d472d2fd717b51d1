package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/internal/llm"
	"github.com/scopegate/scopegate/tokenserver/keys"
	"github.com/scopegate/scopegate/tokenserver/revocation"
)

// Prefix is where the admin API is served on the gateway's port; no
// GatewayRoute can take it.
const Prefix = "/admin/v1/"

// Scope and Audience a token needs to call the admin API.
const (
	Scope    = "admin"
	Audience = "admin"
)

// Options are the admin API's sources, all read-only.
type Options struct {
	// Verifier checks the caller's bearer token (the token server).
	Verifier accesstoken.Verifier
	// Reader lists OAuthClients and GatewayRoutes (the manager's cache).
	Reader client.Reader
	Keys   *keys.Ring
	// Revocations summarises the revocation list.
	Revocations interface{ Stats() revocation.Stats }
	// Explainer is the gateway.
	Explainer interface {
		Explain(context.Context, gateway.ExplainRequest) (*gateway.Explanation, error)
	}
	// RateLimitStore describes where the rate-limit buckets are, shown
	// with each limit (the gateway's RateLimitStore); optional.
	RateLimitStore func() string
	// Usage counts LLM clients' tokens (the gateway's TokenUsage: the
	// windows and who counted them); optional: without it the usage view
	// shows no windows.
	Usage interface {
		TokenUsage(ctx context.Context, clientID string) ([]llm.WindowState, string)
	}
	Log logr.Logger
}

// API is the admin API, an http.Handler for the paths under Prefix.
type API struct {
	opts Options
	mux  *http.ServeMux
}

// New returns the admin API.
func New(o Options) (*API, error) {
	if o.Verifier == nil || o.Reader == nil || o.Keys == nil || o.Revocations == nil || o.Explainer == nil {
		return nil, errors.New("admin API: verifier, reader, keys, revocations and explainer are required")
	}
	a := &API{opts: o, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET "+Prefix+"clients", a.clients)
	a.mux.HandleFunc("GET "+Prefix+"routes", a.routes)
	a.mux.HandleFunc("GET "+Prefix+"keys", a.keys)
	a.mux.HandleFunc("GET "+Prefix+"revocations", a.revocations)
	a.mux.HandleFunc("GET "+Prefix+"usage", a.usage)
	a.mux.HandleFunc("POST "+Prefix+"explain", a.explain)
	return a, nil
}

// Wrap serves the admin API under Prefix and everything else with next
// (the gateway).
func (a *API) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == strings.TrimSuffix(Prefix, "/") || strings.HasPrefix(r.URL.Path, Prefix) {
			a.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP authorizes the caller, then answers.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if e := a.authorize(r); e != nil {
		writeError(w, e)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// apiError is an RFC 6750 answer.
type apiError struct {
	status     int
	code, desc string
	challenge  string
}

const realm = `Bearer realm="scopegate-admin"`

// authorize requires one Bearer token, read by the gateway's own parser
// (RFC 6750 §2.1, the same port's rules), that verifies and holds the admin
// scope and the admin audience.
func (a *API) authorize(r *http.Request) *apiError {
	tok, creds := gateway.BearerToken(r)
	switch creds {
	case gateway.NoBearer:
		return &apiError{status: http.StatusUnauthorized, code: "unauthorized", desc: "a bearer token with the admin scope is required", challenge: realm}
	case gateway.MalformedBearer:
		return &apiError{status: http.StatusBadRequest, code: "invalid_request", desc: "the Authorization header is malformed",
			challenge: realm + `, error="invalid_request"`}
	}
	c, err := a.opts.Verifier.Verify(r.Context(), tok)
	if err == nil && (creds == gateway.DPoP || c.Confirmation != nil) {
		// The admin API takes bearer tokens only; a token bound to a key
		// (RFC 9449) is never accepted without its proof.
		err = errors.New("sender-constrained token")
	}
	if err != nil {
		return &apiError{status: http.StatusUnauthorized, code: "invalid_token", desc: "the access token is invalid, expired or revoked",
			challenge: realm + `, error="invalid_token"`}
	}
	if !slices.Contains(c.Scopes(), Scope) || !slices.Contains(c.Audience, Audience) {
		return &apiError{status: http.StatusForbidden, code: "insufficient_scope", desc: "the admin API needs the admin scope and the audience admin",
			challenge: realm + `, error="insufficient_scope", scope="admin"`}
	}
	return nil
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.challenge != "" {
		w.Header().Set("WWW-Authenticate", e.challenge)
	}
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func badRequest(w http.ResponseWriter, desc string) {
	writeError(w, &apiError{status: http.StatusBadRequest, code: "invalid_request", desc: desc})
}
