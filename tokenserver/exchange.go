package tokenserver

import (
	"net/http"
	"net/url"
)

// RFC 8693 token exchange: a workload trades its projected ServiceAccount
// token for an access token of the OAuthClient bound to that ServiceAccount.
const (
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	// TokenTypeJWT is the subject_token_type of a ServiceAccount token
	// (RFC 8693 §3).
	TokenTypeJWT = "urn:ietf:params:oauth:token-type:jwt"
	// TokenTypeAccessToken is the issued_token_type of the answer.
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

// exchangeClient authenticates a token-exchange request (RFC 8693 §2.1): the
// subject_token is a projected ServiceAccount token, reviewed like a client
// assertion, and the client is the one bound to its ServiceAccount. Client
// credentials are optional; when sent they must authenticate that same
// client. A subject_token that does not authenticate is invalid_request
// (RFC 8693 §2.2.2) and counts as a failed authentication.
func (s *Server) exchangeClient(w http.ResponseWriter, r *http.Request, req *formRequest) (authenticated, *Error) {
	if e := checkExchangeParams(req.Form); e != nil {
		return authenticated{}, e
	}
	if s.opts.Workloads == nil {
		return authenticated{}, badRequest(ErrCodeUnsupportedGrantType, "token exchange needs ServiceAccount token review, which is not configured")
	}
	var caller authenticated
	if !req.Creds.none() {
		var e *Error
		if caller, e = s.authenticate(w, r, req.Creds); e != nil {
			return authenticated{}, e
		}
	}
	subjectToken := req.Form.Get("subject_token")
	id := req.Form.Get("client_id")
	if caller.Client != nil {
		id = caller.ID
	}
	invalidSubject := func() *Error {
		return badRequest(ErrCodeInvalidRequest, "subject_token is not a valid ServiceAccount token bound to an OAuthClient")
	}
	subject, e := s.authenticateWith(w, r, credentials{ID: id}, invalidSubject, func() (authenticated, bool, *Error) {
		return s.assertedClient(r.Context(), id, subjectToken)
	})
	if e != nil {
		return authenticated{}, e
	}
	return subject, nil
}

// checkExchangeParams applies RFC 8693 §2.1 to what scopegate supports: a
// JWT subject token, no actor token (no delegation), an access token out.
func checkExchangeParams(form url.Values) *Error {
	switch {
	case form.Get("subject_token") == "":
		return badRequest(ErrCodeInvalidRequest, "subject_token is required")
	case form.Get("subject_token_type") == "":
		return badRequest(ErrCodeInvalidRequest, "subject_token_type is required")
	case form.Get("subject_token_type") != TokenTypeJWT:
		return badRequest(ErrCodeInvalidRequest, "subject_token_type must be "+TokenTypeJWT+" (a projected ServiceAccount token)")
	case form.Has("actor_token") || form.Has("actor_token_type"):
		return badRequest(ErrCodeInvalidRequest, "actor_token is not supported")
	}
	if rt := form.Get("requested_token_type"); rt != "" && rt != TokenTypeAccessToken && rt != TokenTypeJWT {
		return badRequest(ErrCodeInvalidRequest, "requested_token_type must be "+TokenTypeAccessToken)
	}
	return nil
}
