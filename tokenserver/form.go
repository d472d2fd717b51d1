package tokenserver

import (
	"encoding/base64"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// repeatable are the parameters a request may carry more than once
// (RFC 8707 §2 resource, the seed's audience); every other parameter at
// most once (RFC 6749 §3.1, §3.2).
var repeatable = map[string]bool{"audience": true, "resource": true}

// credentials is how a request authenticated its client.
type credentials struct {
	ID, Secret string
	// Basic is true when they came in the Authorization header
	// (client_secret_basic), which decides the WWW-Authenticate challenge.
	Basic bool
	// Assertion is an RFC 7523 §2.2 client assertion: a projected
	// ServiceAccount token (client_assertion with client_assertion_type
	// jwt-bearer). ID is then the optional client_id parameter.
	Assertion string
}

// none reports whether the request carried no client credentials: a bare
// client_id identifies a client but does not authenticate it.
func (c credentials) none() bool {
	return c.Secret == "" && c.Assertion == "" && !c.Basic
}

// ClientAssertionTypeJWT is the client_assertion_type of RFC 7523 §2.2.
const ClientAssertionTypeJWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// formRequest is a parsed POST of the token, introspection or revocation
// endpoint: parsed once, then read by the pipeline.
type formRequest struct {
	Form  url.Values
	Creds credentials
}

// readForm reads and parses r's body: POST, form-encoded, at most
// MaxBodyBytes. An oversized body answers 413 with invalid_request.
func readForm(w http.ResponseWriter, r *http.Request) (*formRequest, *Error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, oauthError(http.StatusMethodNotAllowed, ErrCodeInvalidRequest, "method must be POST")
	}
	body := getBuffer()
	defer putBuffer(body)
	if _, err := body.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBodyBytes)); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, oauthError(http.StatusRequestEntityTooLarge, ErrCodeInvalidRequest, "request body exceeds 64 KiB")
		}
		return nil, badRequest(ErrCodeInvalidRequest, "cannot read request body")
	}
	// parseForm copies what it keeps: the buffer goes back to the pool.
	return parseForm(r.Header.Get("Content-Type"), r.Header.Get("Authorization"), body.Bytes())
}

// parseForm is the pure part of readForm: content type, parameters and
// client credentials (RFC 6749 §2.3.1, §3.2). Query parameters are ignored:
// credentials must not travel in URLs.
func parseForm(contentType, authorization string, body []byte) (*formRequest, *Error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, badRequest(ErrCodeInvalidRequest, "content type must be application/x-www-form-urlencoded")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badRequest(ErrCodeInvalidRequest, "malformed form body")
	}
	for k, vs := range form {
		if e := checkText(k, vs); e != nil {
			return nil, e
		}
		if len(vs) > 1 && !repeatable[k] {
			return nil, badRequest(ErrCodeInvalidRequest, "parameter "+truncate(k)+" given more than once")
		}
	}
	dropEmpty(form)
	creds, e := parseCredentials(authorization, form)
	if e != nil {
		return nil, e
	}
	return &formRequest{Form: form, Creds: creds}, nil
}

// dropEmpty removes the values that are empty, and the parameters left with
// none: "parameters sent without a value MUST be treated as if they were
// omitted from the request" (RFC 6749 §3.1). A parameter given twice is
// refused before this, even when one copy is empty.
func dropEmpty(form url.Values) {
	for k, vs := range form {
		kept := vs[:0]
		for _, v := range vs {
			if v != "" {
				kept = append(kept, v)
			}
		}
		if len(kept) == 0 {
			delete(form, k)
		} else {
			form[k] = kept
		}
	}
}

// parseCredentials finds the client credentials: client_secret_basic or
// client_secret_post, never both (RFC 6749 §2.3: one method per request).
// Missing credentials are not an error here: authentication reports them.
func parseCredentials(authorization string, form url.Values) (credentials, *Error) {
	postID, postSecret := form.Get("client_id"), form.Get("client_secret")
	_, hasPostSecret := form["client_secret"]
	_, hasAssertion := form["client_assertion"]
	_, hasAssertionType := form["client_assertion_type"]
	if hasAssertion || hasAssertionType {
		return assertionCredentials(authorization, form, hasPostSecret)
	}
	if authorization == "" {
		return credentials{ID: postID, Secret: postSecret}, nil
	}
	scheme, param, _ := strings.Cut(authorization, " ")
	if !strings.EqualFold(scheme, "Basic") {
		// Another scheme (a Bearer token, say) does not authenticate a
		// client here.
		return credentials{ID: postID, Secret: postSecret}, nil
	}
	if hasPostSecret {
		return credentials{}, badRequest(ErrCodeInvalidRequest, "use one client authentication method, not both client_secret_basic and client_secret_post")
	}
	id, secret, ok := decodeBasic(strings.TrimSpace(param))
	if !ok {
		return credentials{Basic: true}, nil // authentication fails with a challenge
	}
	if e := checkText("client_id", []string{id}); e != nil {
		return credentials{}, e
	}
	if e := checkText("client_secret", []string{secret}); e != nil {
		return credentials{}, e
	}
	if postID != "" && postID != id {
		return credentials{}, badRequest(ErrCodeInvalidRequest, "client_id differs from the Authorization header")
	}
	return credentials{ID: id, Secret: secret, Basic: true}, nil
}

// assertionCredentials reads an RFC 7521 §4.2 client assertion. It is one
// authentication method: with a client secret or Basic credentials as well
// it is invalid_request (RFC 6749 §2.3).
func assertionCredentials(authorization string, form url.Values, hasPostSecret bool) (credentials, *Error) {
	scheme, _, _ := strings.Cut(authorization, " ")
	if hasPostSecret || strings.EqualFold(scheme, "Basic") {
		return credentials{}, badRequest(ErrCodeInvalidRequest, "use one client authentication method, not a client assertion and a client secret")
	}
	assertion, typ := form.Get("client_assertion"), form.Get("client_assertion_type")
	switch {
	case assertion == "":
		return credentials{}, badRequest(ErrCodeInvalidRequest, "client_assertion is required with client_assertion_type")
	case typ == "":
		return credentials{}, badRequest(ErrCodeInvalidRequest, "client_assertion_type is required with client_assertion")
	case typ != ClientAssertionTypeJWT:
		return credentials{}, badRequest(ErrCodeInvalidRequest, "client_assertion_type must be "+ClientAssertionTypeJWT)
	}
	return credentials{ID: form.Get("client_id"), Assertion: assertion}, nil
}

// decodeBasic decodes RFC 7617 Basic credentials whose parts are
// form-encoded as RFC 6749 §2.3.1 requires.
func decodeBasic(param string) (id, secret string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(param)
	if err != nil {
		return "", "", false
	}
	rawID, rawSecret, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", false
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", false
	}
	return id, secret, true
}

// checkText refuses a parameter whose name or a value is not valid UTF-8
// or holds a control character. url.ParseQuery decodes any byte, and
// encoding/json would turn an invalid sequence into U+FFFD inside a claim:
// such input is refused before anything is looked up, issued or stored. The
// answer names the parameter, never its value (it may be a secret).
func checkText(name string, values []string) *Error {
	if !isText(name) {
		return badRequest(ErrCodeInvalidRequest, "a parameter name is not valid UTF-8 or holds a control character")
	}
	for _, v := range values {
		if !isText(v) {
			return badRequest(ErrCodeInvalidRequest, "parameter "+truncate(name)+" is not valid UTF-8 or holds a control character")
		}
	}
	return nil
}

// isText reports whether s is valid UTF-8 without control characters
// (C0, DEL and C1).
func isText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || c < 0x20 || c == 0x7f {
			return isTextSlow(s[i:])
		}
	}
	return true
}

func isTextSlow(s string) bool {
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && size == 1 || unicode.IsControl(r) {
			return false
		}
		s = s[size:]
	}
	return true
}

// truncate shortens s to 40 bytes for an error message, on a rune boundary.
func truncate(s string) string {
	if len(s) <= 40 {
		return s
	}
	n := 40
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
