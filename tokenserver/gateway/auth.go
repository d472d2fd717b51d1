package gateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/scopegate/scopegate/tokenserver"
)

// bearerToken extracts the access token from the Authorization header
// (RFC 6750 §2.1; the scheme is case-insensitive, RFC 9110 §11.1). present
// is false when no Bearer credentials were sent at all — then the answer
// carries no error code (RFC 6750 §3.1). Tokens in the query or form body
// (RFC 6750 §2.2, §2.3) are not accepted: they leak into logs.
func bearerToken(r *http.Request) (token string, present bool) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return "", false
	}
	v := vals[0]
	if len(v) < len("Bearer") || !strings.EqualFold(v[:len("Bearer")], "Bearer") {
		return "", false
	}
	if len(vals) > 1 {
		// Two Authorization fields: ambiguous, refuse rather than guess.
		return "", true
	}
	rest := v[len("Bearer"):]
	if rest == "" || rest[0] != ' ' {
		return "", len(rest) == 0
	}
	return strings.TrimSpace(rest), true
}

// authenticate verifies the bearer token of r. A missing token is 401
// without an error code; any verification failure (bad signature, expired,
// revoked, foreign issuer, deleted or suspended client) is 401
// error="invalid_token" (RFC 6750 §3.1).
func (g *Gateway) authenticate(ctx context.Context, rt *Route, token string) (*tokenserver.Claims, *gatewayError) {
	if token == "" {
		return nil, g.invalidToken(rt, "the access token is malformed", "malformed_token")
	}
	claims, err := g.verifier.Verify(ctx, token)
	if err != nil {
		return nil, g.invalidToken(rt, "the access token is invalid, expired or revoked", "invalid_token")
	}
	return claims, nil
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
