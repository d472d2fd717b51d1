package gateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/scopegate/scopegate/internal/accesstoken"
)

// credentials is what the Authorization header of a request holds.
type credentials int

const (
	// noBearer: no Authorization header, or one of another scheme (Basic):
	// the answer carries no error code (RFC 6750 §3.1).
	noBearer credentials = iota
	// bearer: one well-formed Bearer token.
	bearer
	// malformedBearer: Bearer credentials that break RFC 6750 §2.1 (no
	// token, a token outside the b64token syntax) or more than one
	// Authorization field: 400 invalid_request (RFC 6750 §3.1).
	malformedBearer
)

// bearerToken extracts the access token from the Authorization header
// (RFC 6750 §2.1: "Bearer" 1*SP b64token; the scheme is case-insensitive,
// RFC 9110 §11.1). Tokens in the query or form body (RFC 6750 §2.2, §2.3)
// are not accepted: they leak into logs.
func bearerToken(r *http.Request) (string, credentials) {
	vals := r.Header.Values("Authorization")
	found := false
	for _, v := range vals {
		if isBearerScheme(v) {
			found = true
			break
		}
	}
	if !found {
		return "", noBearer
	}
	if len(vals) > 1 {
		// Two Authorization fields: ambiguous, refuse rather than guess.
		return "", malformedBearer
	}
	tok := strings.TrimLeft(vals[0][len("Bearer"):], " ")
	if !isB64Token(tok) {
		return "", malformedBearer
	}
	return tok, bearer
}

// isBearerScheme reports whether an Authorization value uses the Bearer
// scheme: "Bearer" alone or followed by whitespace ("Bearerx" is another
// scheme).
func isBearerScheme(v string) bool {
	const scheme = "Bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return false
	}
	return len(v) == len(scheme) || v[len(scheme)] == ' ' || v[len(scheme)] == '\t'
}

// isB64Token reports whether s is an RFC 6750 §2.1 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// authenticate verifies the bearer token of r. Any verification failure
// (bad signature, expired, revoked, foreign issuer, deleted or suspended
// client) is 401 error="invalid_token" (RFC 6750 §3.1).
func (g *Gateway) authenticate(ctx context.Context, rt *Route, token string) (*accesstoken.Claims, *gatewayError) {
	claims, err := g.verifier.Verify(ctx, token)
	if err != nil {
		// The reason (revoked, expired, client_suspended, ...) goes to the
		// decision log and metrics only; the answer is the same for all.
		_, reason := tokenCheck(err)
		return nil, g.invalidToken(rt, "the access token is invalid, expired or revoked", reason)
	}
	return claims, nil
}

// malformedRequest is the answer to Bearer credentials that break the
// syntax: 400 error="invalid_request" (RFC 6750 §3.1).
func (g *Gateway) malformedRequest(rt *Route) *gatewayError {
	const desc = "the Authorization header is malformed"
	return &gatewayError{
		Status:      http.StatusBadRequest,
		Code:        "invalid_request",
		Description: desc,
		Reason:      "malformed_authorization",
		Challenge: challenge(
			[2]string{"error", "invalid_request"},
			[2]string{"error_description", desc},
			[2]string{"resource_metadata", g.metadataURL(rt.PathPrefix)},
		),
	}
}

// missingToken is the answer to a request without credentials on a route
// that needs them: RFC 6750 §3 plus RFC 9728 §5.1 resource_metadata, which
// MCP clients follow to discover the authorization server.
func (g *Gateway) missingToken(rt *Route) *gatewayError {
	return &gatewayError{
		Status:      http.StatusUnauthorized,
		Code:        "unauthorized",
		Description: "a bearer token is required",
		Reason:      "missing_token",
		Challenge:   challenge([2]string{"resource_metadata", g.metadataURL(rt.PathPrefix)}),
	}
}

func (g *Gateway) invalidToken(rt *Route, desc, reason string) *gatewayError {
	return &gatewayError{
		Status:      http.StatusUnauthorized,
		Code:        "invalid_token",
		Description: desc,
		Reason:      reason,
		Challenge: challenge(
			[2]string{"error", "invalid_token"},
			[2]string{"error_description", desc},
			[2]string{"resource_metadata", g.metadataURL(rt.PathPrefix)},
		),
	}
}
