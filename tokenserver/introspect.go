package tokenserver

import (
	"net/http"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/registry"
)

// introspection is RFC 7662 §2.2's answer for an active token: the
// standard members plus the token's other claims.
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Nbf       int64    `json:"nbf,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       []string `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	Jti       string   `json:"jti,omitempty"`
	UserType  string   `json:"user_type,omitempty"`
	Roles     []string `json:"roles,omitempty"`
	SessionID string   `json:"session_id,omitempty"`
	PluginID  string   `json:"plugin_id,omitempty"`

	ServiceAccount string `json:"service_account,omitempty"`
	// Cnf is the token's key binding (RFC 9449 §6.2: cnf.jkt of a DPoP
	// token; RFC 8705 §3.2 would add x5t#S256), so that a resource server
	// relying on introspection can check the proof.
	Cnf *accesstoken.Confirmation `json:"cnf,omitempty"`
}

// tokenRequest is the common start of introspection and revocation: parse
// the form, authenticate the client (the same rules as the token endpoint;
// RFC 7662 §2.1, RFC 7009 §2.1) and read the required token parameter. When
// it fails it has written the error and ok is false; otherwise the answer
// is marked no-store.
func (s *Server) tokenRequest(w http.ResponseWriter, r *http.Request) (client *registry.Client, token string, ok bool) {
	req, e := readForm(w, r)
	if e != nil {
		writeError(w, e)
		return nil, "", false
	}
	a, e := s.authenticate(w, r, req.Creds)
	if e != nil {
		writeError(w, e)
		return nil, "", false
	}
	client = a.Client
	if token = req.Form.Get("token"); token == "" {
		writeError(w, badRequest(ErrCodeInvalidRequest, "token is required"))
		return nil, "", false
	}
	noStore(w)
	return client, token, true
}

// handleIntrospect is RFC 7662: any authenticated client may introspect a
// token; every invalid token answers only {"active":false} (§2.2).
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	_, token, ok := s.tokenRequest(w, r)
	if !ok {
		return
	}
	c, err := s.Verify(r.Context(), token)
	// The verifier's leeway tolerates clock skew between this server and a
	// relying party; introspection is this server's own judgement on its own
	// clock, and a token past exp is not "within its given time window of
	// validity" (RFC 7662 §2.2).
	if err == nil && !s.now().Before(c.ExpiresAt.Time) {
		err = accesstoken.ErrInvalidToken
	}
	if err != nil {
		s.metrics.introspected.WithLabelValues("false").Inc()
		writeJSON(w, http.StatusOK, introspection{Active: false})
		return
	}
	s.metrics.introspected.WithLabelValues("true").Inc()
	writeJSON(w, http.StatusOK, introspection{
		Active: true, Scope: c.Scope, ClientID: c.ClientID, Username: c.Username, TokenType: c.TokenType,
		Exp: c.ExpiresAt.Unix(), Iat: c.IssuedAt.Unix(), Nbf: c.NotBefore.Unix(), Sub: c.Subject,
		Aud: c.Audience, Iss: c.Issuer, Jti: c.ID, UserType: c.UserType, Roles: c.Roles,
		SessionID: c.SessionID, PluginID: c.PluginID, ServiceAccount: c.ServiceAccount, Cnf: c.Confirmation,
	})
}
