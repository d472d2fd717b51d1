package tokenserver

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/scope"
	"github.com/scopegate/scopegate/tokenserver/keys"
)

// GrantClientCredentials is RFC 6749 §4.4; GrantTokenExchange (RFC 8693)
// is the other grant served.
const GrantClientCredentials = "client_credentials"

// tokenResponse is RFC 6749 §5.1's successful answer; a token exchange adds
// issued_token_type (RFC 8693 §2.2.1).
type tokenResponse struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type,omitempty"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	Scope           string `json:"scope"`
}

// handleToken is the token endpoint: one fixed pipeline, parse once →
// authenticate the client (a secret, a ServiceAccount token as client
// assertion, or the subject_token of a token exchange) → DPoP proof →
// grant type → scope → audience → hook rule → plugin_id → issue → write.
// The proof is checked after the client authenticated, so that nobody
// can fill the replay cache without credentials.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.setDPoPNonce(w)
	tok, issuedType, e := s.token(w, r)
	if e != nil {
		if e.Status == http.StatusTooManyRequests {
			s.metrics.outcome(outcomeRateLimited)
		} else {
			s.metrics.outcome(e.Code)
		}
		writeError(w, e)
		return
	}
	s.metrics.outcome(outcomeIssued)
	noStore(w)
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken:     tok.Raw,
		IssuedTokenType: issuedType,
		TokenType:       tok.Claims.TokenType,
		ExpiresIn:       int64(tok.ExpiresAt.Sub(tok.IssuedAt).Seconds()),
		Scope:           tok.Claims.Scope,
	})
}

// token runs the pipeline; issuedType is set for a token exchange.
func (s *Server) token(w http.ResponseWriter, r *http.Request) (tok *accesstoken.IssuedToken, issuedType string, e *Error) {
	req, e := readForm(w, r)
	if e != nil {
		return nil, "", e
	}
	gt := req.Form.Get("grant_type")
	exchange := gt == GrantTokenExchange
	var client authenticated
	if exchange {
		client, e = s.exchangeClient(w, r, req)
	} else {
		client, e = s.authenticate(w, r, req.Creds)
	}
	if e != nil {
		return nil, "", e
	}
	if s.successByID != nil {
		if ok, wait := s.successByID.allow(client.ID, s.now()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
			return nil, "", oauthError(http.StatusTooManyRequests, ErrCodeTemporarilyUnavailable, "token request rate limit exceeded; retry later")
		}
	}
	jkt, e := s.dpopBinding(r, client)
	if e != nil {
		return nil, "", e
	}
	x5t := s.certBinding(r, client)
	if e := checkGrantType(gt, client.Client); e != nil {
		return nil, "", e
	}
	var granted []string
	if _, given := req.Form["scope"]; exchange && !given {
		// RFC 8693 §2.1: scope is optional; the client's allowed scopes.
		granted = slices.Clone(client.Scopes)
	} else if granted, e = grantScopes(req.Form, client.Client); e != nil {
		return nil, "", e
	}
	aud, e := s.audiences(req.Form, client.Client)
	if e != nil {
		return nil, "", e
	}
	if e := checkHookRule(granted, aud); e != nil {
		return nil, "", e
	}
	pluginID, e := pluginID(req.Form, client.Client)
	if e != nil {
		return nil, "", e
	}
	tok, err := s.issue(issueParams{clientID: client.ID, scopes: granted, aud: aud, ttl: client.TTL, pluginID: pluginID, serviceAccount: client.ServiceAccount, jkt: jkt, x5t: x5t})
	if err != nil {
		s.opts.Log.Error(err, "Cannot issue access token", "clientID", client.ID)
		if errors.Is(err, keys.ErrNoKey) {
			w.Header().Set("Retry-After", "5")
			return nil, "", oauthError(http.StatusServiceUnavailable, ErrCodeTemporarilyUnavailable, "signing keys are not loaded yet")
		}
		return nil, "", oauthError(http.StatusInternalServerError, ErrCodeServerError, "cannot issue access token")
	}
	// Asked first: the arguments would be boxed for a line nobody logs.
	if log := s.opts.Log.V(1); log.Enabled() {
		log.Info("Issued access token", "clientID", client.ID, "jti", tok.Claims.ID, "scope", tok.Claims.Scope, "aud", aud, "kid", tok.KeyID,
			"serviceAccount", client.ServiceAccount, "grantType", gt, "jkt", jkt, "x5t", x5t)
	}
	if exchange {
		issuedType = TokenTypeAccessToken
	}
	return tok, issuedType, nil
}

// checkGrantType applies RFC 6749 §5.2 to grant_type.
func checkGrantType(gt string, client *registry.Client) *Error {
	switch {
	case gt == "":
		return badRequest(ErrCodeInvalidRequest, "grant_type is required")
	case gt != GrantClientCredentials && gt != GrantTokenExchange:
		return badRequest(ErrCodeUnsupportedGrantType, "the supported grant types are client_credentials and "+GrantTokenExchange)
	}
	allowed := client.GrantTypes
	if len(allowed) == 0 {
		allowed = []string{GrantClientCredentials}
	}
	if !slices.Contains(allowed, gt) {
		return badRequest(ErrCodeUnauthorizedClient, "the client may not use this grant type")
	}
	return nil
}

// grantScopes is the exact intersection of the requested and allowed
// scopes (SPEC §3). scope is required, as in the seed.
func grantScopes(form map[string][]string, client *registry.Client) ([]string, *Error) {
	raw, ok := form["scope"]
	if !ok || strings.TrimSpace(raw[0]) == "" {
		return nil, badRequest(ErrCodeInvalidScope, "scope is required")
	}
	requested, err := scope.Parse(raw[0])
	if err != nil {
		return nil, badRequest(ErrCodeInvalidScope, err.Error())
	}
	granted := scope.Intersect(requested, client.Scopes)
	if len(granted) == 0 {
		return nil, badRequest(ErrCodeInvalidScope, "none of the requested scopes is allowed for this client")
	}
	return granted, nil
}

// pluginID is the plugin_id claim: the parameter, which must match the
// client's pluginID when it has one, else the client's.
func pluginID(form map[string][]string, client *registry.Client) (string, *Error) {
	v, given := form["plugin_id"]
	if !given {
		return client.PluginID, nil
	}
	if client.PluginID != "" && v[0] != client.PluginID {
		return "", badRequest(ErrCodeInvalidRequest, "plugin_id does not match the client's")
	}
	if v[0] == "" {
		return client.PluginID, nil
	}
	return v[0], nil
}
