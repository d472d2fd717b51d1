package gateway

import (
	"net/http"
	"strings"
)

// Credentials is what the Authorization header of a request holds.
type Credentials int

const (
	// NoBearer: no Authorization header, or one of another scheme (Basic):
	// the answer carries no error code (RFC 6750 §3.1).
	NoBearer Credentials = iota
	// Bearer: one well-formed Bearer token.
	Bearer
	// MalformedBearer: Bearer or DPoP credentials that break RFC 6750 §2.1
	// (no token, a token outside the b64token syntax) or more than one
	// Authorization field: 400 invalid_request (RFC 6750 §3.1).
	MalformedBearer
	// DPoP: one well-formed token in the DPoP scheme (RFC 9449 §7.1),
	// which must come with a proof of the key it is bound to.
	DPoP
)

// BearerToken extracts the access token from the Authorization header: the
// Bearer scheme (RFC 6750 §2.1: "Bearer" 1*SP b64token) or the DPoP scheme
// (RFC 9449 §7.1, the same syntax); schemes are case-insensitive (RFC 9110
// §11.1). Tokens in the query or form body (RFC 6750 §2.2, §2.3) are not
// accepted: they leak into logs.
func BearerToken(r *http.Request) (string, Credentials) {
	vals := r.Header.Values("Authorization")
	var kind Credentials
	var scheme string
	for _, v := range vals {
		if kind, scheme = tokenScheme(v); kind != NoBearer {
			break
		}
	}
	if kind == NoBearer {
		return "", NoBearer
	}
	if len(vals) > 1 {
		// Two Authorization fields: ambiguous, refuse rather than guess.
		return "", MalformedBearer
	}
	tok := strings.TrimLeft(vals[0][len(scheme):], " ")
	if !isB64Token(tok) {
		return "", MalformedBearer
	}
	return tok, kind
}

// tokenScheme reports which token scheme an Authorization value uses,
// Bearer or DPoP, and its name: the name alone or followed by whitespace
// ("Bearerx" is another scheme).
func tokenScheme(v string) (Credentials, string) {
	for _, s := range [...]struct {
		name string
		kind Credentials
	}{{"Bearer", Bearer}, {"DPoP", DPoP}} {
		n := len(s.name)
		if len(v) >= n && strings.EqualFold(v[:n], s.name) && (len(v) == n || v[n] == ' ' || v[n] == '\t') {
			return s.kind, s.name
		}
	}
	return NoBearer, ""
}

// b64tokenChar marks the characters of a b64token before its padding: one
// table load per character of a token checked on every request.
var b64tokenChar = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
	}
	return t
}()

// isB64Token reports whether s is an RFC 6750 §2.1 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for i < len(s) && b64tokenChar[s[i]] {
		i++
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

// malformedRequest is the answer to Bearer credentials that break the
// syntax: 400 error="invalid_request" (RFC 6750 §3.1).
func (g *Gateway) malformedRequest(rt *Route) *gatewayError {
	const desc = "the Authorization header is malformed"
	return &gatewayError{
		Status:      http.StatusBadRequest,
		Code:        "invalid_request",
		Description: desc,
		Reason:      ReasonMalformedAuthorization,
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
		Reason:      ReasonMissingToken,
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
