package gateway

import (
	"net/http"
	"strings"
)

// insufficient is the answer to a token that verifies but does not fit the
// route, for lack of a scope or of an audience: 403
// error="insufficient_scope" naming the required scopes (RFC 6750 §3.1).
func (g *Gateway) insufficient(rt *Route, desc, reason string) *gatewayError {
	return &gatewayError{
		Status:      http.StatusForbidden,
		Code:        "insufficient_scope",
		Description: desc,
		Reason:      reason,
		Challenge: challenge(
			[2]string{"error", "insufficient_scope"},
			[2]string{"error_description", desc},
			[2]string{"scope", strings.Join(rt.RequiredScopes, " ")},
			[2]string{"resource_metadata", g.metadataURL(rt.PathPrefix)},
		),
	}
}
