package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
)

// gatewayError is a refusal the gateway answers itself. Code is an RFC 6750
// §3.1 error code for authentication and authorization failures, and a short
// machine-readable word otherwise; Reason is what the decision log says.
type gatewayError struct {
	Status      int
	Code        string
	Description string
	Reason      string
	// Challenge, when set, is sent as WWW-Authenticate.
	Challenge string
	// Headers are extra response headers (Retry-After, RateLimit-*).
	Headers http.Header
	// Body, when set, is the JSON answered instead of an errorBody: the
	// JSON-RPC errors of refusals on routes with item rules.
	Body any
}

// errorBody is the JSON of every error answer, in the shape of OAuth error
// responses (RFC 6749 §5.2) so clients need one parser.
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

func writeError(w http.ResponseWriter, e *gatewayError) {
	h := w.Header()
	for k, vs := range e.Headers {
		h[k] = vs
	}
	if e.Challenge != "" {
		h.Set("WWW-Authenticate", e.Challenge)
	}
	if e.Body != nil {
		writeJSON(w, e.Status, e.Body)
		return
	}
	writeJSON(w, e.Status, errorBody{Error: e.Code, ErrorDescription: e.Description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// challenge builds a Bearer WWW-Authenticate value (RFC 6750 §3) with the
// resource_metadata parameter of RFC 9728 §5.1. Parameters with empty values
// are left out.
func challenge(params ...[2]string) string {
	return challengeIn("Bearer", params...)
}

// challengeIn is challenge in another auth scheme (DPoP, RFC 9449 §7.1).
func challengeIn(scheme string, params ...[2]string) string {
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString(` realm="scopegate"`)
	for _, p := range params {
		if p[1] == "" {
			continue
		}
		b.WriteString(", ")
		b.WriteString(p[0])
		b.WriteString(`="`)
		b.WriteString(quoteEscape(p[1]))
		b.WriteString(`"`)
	}
	return b.String()
}

// quoteEscape escapes a quoted-string's content (RFC 9110 §5.6.4). Values
// here are scopes, URLs and fixed texts, so this is belt and braces.
func quoteEscape(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

func notFound() *gatewayError {
	return &gatewayError{Status: http.StatusNotFound, Code: "not_found", Description: "no route matches the request path", Reason: ReasonNoRoute}
}

func ambiguous() *gatewayError {
	return &gatewayError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "the request path is ambiguous", Reason: ReasonAmbiguousPath}
}

func methodNotAllowed() *gatewayError {
	return &gatewayError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Description: "use GET", Reason: ReasonMethodNotAllowed,
		Headers: http.Header{"Allow": {"GET, HEAD"}}}
}

func noBackend() *gatewayError {
	return &gatewayError{Status: http.StatusServiceUnavailable, Code: "no_backend", Description: "the route has no ready backend endpoints", Reason: ReasonNoReadyEndpoints}
}
