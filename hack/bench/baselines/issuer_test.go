package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestTheIssuerChecksTheClientAndGrantsTheRequestedScopesItHolds(t *testing.T) {
	is, err := newIssuer(options{clientID: "c", secret: "s", issuer: "http://127.0.0.1:1", allowedScopes: "api:read api:write"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		id, secret     string
		form           url.Values
		status         int
		error, granted string
	}{
		{name: "An allowed scope is granted", form: url.Values{"scope": {"api:read"}}, status: http.StatusOK, granted: "api:read"},
		{name: "Allowed scopes are granted in the order requested, each once", form: url.Values{"scope": {"api:write  api:read api:write"}}, status: http.StatusOK, granted: "api:write api:read"},
		{name: "A scope the client lacks is left out of the grant", form: url.Values{"scope": {"admin api:read"}}, status: http.StatusOK, granted: "api:read"},
		{name: "An unknown scope alone is invalid_scope", form: url.Values{"scope": {"admin"}}, status: http.StatusBadRequest, error: "invalid_scope"},
		{name: "A prefix of an allowed scope is not allowed", form: url.Values{"scope": {"api"}}, status: http.StatusBadRequest, error: "invalid_scope"},
		{name: "No scope is invalid_scope", form: url.Values{}, status: http.StatusBadRequest, error: "invalid_scope"},
		{name: "Another grant type is invalid_request", form: url.Values{"grant_type": {"password"}, "scope": {"api:read"}}, status: http.StatusBadRequest, error: "invalid_request"},
		{name: "A wrong secret is invalid_client", secret: "t", form: url.Values{"scope": {"api:read"}}, status: http.StatusUnauthorized, error: "invalid_client"},
		{name: "Another client is invalid_client", id: "d", form: url.Values{"scope": {"api:read"}}, status: http.StatusUnauthorized, error: "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := tc.form["grant_type"]; !ok {
				tc.form.Set("grant_type", "client_credentials")
			}
			id, secret := "c", "s"
			if tc.id != "" {
				id = tc.id
			}
			if tc.secret != "" {
				secret = tc.secret
			}
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(tc.form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.SetBasicAuth(id, secret)
			w := httptest.NewRecorder()
			is.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("answer %d %s, want %d", w.Code, w.Body, tc.status)
			}
			if tc.error != "" {
				var e struct{ Error string }
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error != tc.error {
					t.Fatalf("answer %s, want error %s", w.Body, tc.error)
				}
				return
			}
			var tr struct {
				AccessToken string `json:"access_token"`
				Scope       string `json:"scope"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil || tr.Scope != tc.granted {
				t.Fatalf("answer %s, want scope %q", w.Body, tc.granted)
			}
			parts := strings.Split(tr.AccessToken, ".")
			if len(parts) != 3 {
				t.Fatalf("access token %q is not a JWS", tr.AccessToken)
			}
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			var claims struct{ Scope string }
			if err := json.Unmarshal(payload, &claims); err != nil || claims.Scope != tc.granted {
				t.Fatalf("token claims %s, want scope %q", payload, tc.granted)
			}
		})
	}
}

func TestTheIssuerNeedsTheClientsScopes(t *testing.T) {
	if _, err := newIssuer(options{clientID: "c", secret: "s", issuer: "http://127.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), "-allowed-scopes") {
		t.Fatalf("newIssuer without -allowed-scopes: %v, want an error naming it", err)
	}
}
