package tokenserver

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Error codes of RFC 6749 §4.1.2.1 and §5.2, RFC 8707 §2, RFC 7009
// §2.2.1 and RFC 9449 §5 (invalid_dpop_proof) and §8 (use_dpop_nonce).
const (
	ErrCodeInvalidRequest          = "invalid_request"
	ErrCodeInvalidClient           = "invalid_client"
	ErrCodeInvalidGrant            = "invalid_grant"
	ErrCodeUnauthorizedClient      = "unauthorized_client"
	ErrCodeUnsupportedGrantType    = "unsupported_grant_type"
	ErrCodeInvalidScope            = "invalid_scope"
	ErrCodeInvalidTarget           = "invalid_target"
	ErrCodeUnsupportedResponseType = "unsupported_response_type"
	ErrCodeAccessDenied            = "access_denied"
	ErrCodeServerError             = "server_error"
	ErrCodeTemporarilyUnavailable  = "temporarily_unavailable"
	ErrCodeInvalidDPoPProof        = "invalid_dpop_proof"
	ErrCodeUseDPoPNonce            = "use_dpop_nonce"
)

// Error is an OAuth error answer (RFC 6749 §5.2).
type Error struct {
	Code        string
	Description string
	Status      int
	// RetryAfter, when positive, is sent as Retry-After (seconds).
	RetryAfter int
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func oauthError(status int, code, desc string) *Error {
	return &Error{Code: code, Description: desc, Status: status}
}

func badRequest(code, desc string) *Error { return oauthError(http.StatusBadRequest, code, desc) }

// errInvalidClient is the one answer for every client-authentication
// failure, so that it tells nothing about which check failed (RFC 6749
// §5.2).
func errInvalidClient() *Error {
	return oauthError(http.StatusUnauthorized, ErrCodeInvalidClient, "client authentication failed")
}

// unavailable is 503 temporarily_unavailable with Retry-After: something
// the answer depends on (the API server) cannot be reached now.
func unavailable(desc string) *Error {
	e := oauthError(http.StatusServiceUnavailable, ErrCodeTemporarilyUnavailable, desc)
	e.RetryAfter = 5
	return e
}

// noStore marks an answer as not cacheable (RFC 6749 §5.1).
func noStore(w http.ResponseWriter) {
	h := w.Header()
	h["Cache-Control"] = hdrNoStore
	h["Pragma"] = hdrNoCache
}

// Header values every answer shares instead of allocating one each time
// (Header.Set makes a new slice): net/http only reads a header's values,
// and a literal has no spare capacity, so an Add elsewhere copies instead
// of writing into them. The keys are canonical, as Set would make them.
var (
	hdrNoStore = []string{"no-store"}
	hdrNoCache = []string{"no-cache"}
	hdrJSON    = []string{"application/json"}
)

// writeError writes e as JSON. It is the only writer of OAuth errors.
func writeError(w http.ResponseWriter, e *Error) {
	noStore(w)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, e.Status, struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{e.Code, e.Description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header()["Content-Type"] = hdrJSON
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}
