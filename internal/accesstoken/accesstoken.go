// Package accesstoken is the contract between the token server and the parts
// that consume its tokens (the gateway, the admin API, the OAuthClient
// controller): the claims of a scopegate access token, the issuer and verifier
// interfaces, and the errors a verification can end in. It holds no logic, so
// every consumer depends on it instead of on the token server itself.
package accesstoken

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the claims of a scopegate access token: the RFC 9068 profile
// plus the seed's identity claims (SPEC §5).
type Claims struct {
	jwt.RegisteredClaims

	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope"`
	Username  string   `json:"username"`
	UserType  string   `json:"user_type"`
	Roles     []string `json:"roles"`
	TokenType string   `json:"token_type"`
	SessionID string   `json:"session_id"`
	PluginID  string   `json:"plugin_id,omitempty"`
	// ServiceAccount names the Kubernetes ServiceAccount
	// ("system:serviceaccount:<namespace>:<name>") whose projected token
	// obtained this token, by client assertion or token exchange.
	ServiceAccount string `json:"service_account,omitempty"`
	// Confirmation binds the token to a key (RFC 7800 cnf): nil for a
	// bearer token.
	Confirmation *Confirmation `json:"cnf,omitempty"`
}

// Confirmation is the cnf claim (RFC 7800 §3.1): the key a sender must
// prove it holds to use the token. JKT is the RFC 7638 thumbprint of a
// DPoP key (RFC 9449 §6.1); X5TS256 the SHA-256 thumbprint (base64url) of
// the client certificate the token is bound to (RFC 8705 §3.1).
type Confirmation struct {
	JKT     string `json:"jkt,omitempty"`
	X5TS256 string `json:"x5t#S256,omitempty"`
}

// Token types (RFC 6749 §7.1): the token_type of a token response and of
// the token_type claim. A token with cnf.jkt is a DPoP token (RFC 9449 §5).
const (
	TokenTypeBearer = "Bearer"
	TokenTypeDPoP   = "DPoP"
)

// Scopes is the granted scopes as a list.
func (c *Claims) Scopes() []string { return strings.Fields(c.Scope) }

// IssueRequest asks for one access token. The caller has already decided the
// grant (the token endpoint through its pipeline, the OAuthClient controller
// from spec.tokenSecret); the issuer only signs.
type IssueRequest struct {
	ClientID  string
	Scopes    []string
	Audiences []string
	// TTL is the token lifetime; 0 means the client's, else the server default.
	TTL      time.Duration
	PluginID string
}

// IssuedToken is a signed access token.
type IssuedToken struct {
	Raw       string
	Claims    *Claims
	KeyID     string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Issuer signs access tokens with the current signing key.
type Issuer interface {
	Issue(ctx context.Context, req IssueRequest) (*IssuedToken, error)
}

// Verifier checks an access token completely: signature against the live
// key set, iss, typ at+jwt, exp/nbf with a small leeway, revoked jti, and a
// deleted or suspended client. It is on the gateway's hot path and caches
// verified signatures, so a repeat costs a few map lookups. Every failure
// wraps ErrInvalidToken.
type Verifier interface {
	Verify(ctx context.Context, raw string) (*Claims, error)
}

// KeyRetirement tells whether tokens signed by a key should be replaced:
// true once kid is no longer the current signing key.
type KeyRetirement interface {
	KeyRetired(kid string) bool
}

// ErrInvalidToken is wrapped by every verification failure.
var ErrInvalidToken = errors.New("invalid token")

// Why a signed, unexpired token is refused; each wraps ErrInvalidToken in
// Verify's error, so callers that only need "refused" check that.
var (
	ErrRevoked         = errors.New("token revoked")
	ErrClientDeleted   = errors.New("client no longer exists")
	ErrClientSuspended = errors.New("client suspended")
)

// TypAccessToken is the JOSE typ of an RFC 9068 access token (§2.1).
const TypAccessToken = "at+jwt"
