package tokenserver

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TestParametersMustBeText: every parameter of every endpoint is valid
// UTF-8 without control characters, else 400 invalid_request naming the
// parameter, before a client is looked up or a token issued (url.ParseQuery
// decodes any byte, and a token's claims would carry U+FFFD).
func TestParametersMustBeText(t *testing.T) {
	tokenBase := "grant_type=client_credentials&scope=mcp"
	cases := []struct {
		name  string
		path  string
		body  string
		basic string // raw "id:secret" for a Basic header, before base64
		param string // the parameter the answer must name
	}{
		{"an invalid byte in audience at a client with no allow-list", PathToken, tokenBase + "&audience=hk%FF%28", "team-a.alpha:" + secretA, "audience"},
		{"an invalid byte in one of several audiences", PathToken, tokenBase + "&audience=mcp&audience=a%C3", "team-a.alpha:" + secretA, "audience"},
		{"an invalid byte in resource", PathToken, tokenBase + "&resource=https://x.example/%FE", "team-a.alpha:" + secretA, "resource"},
		{"an invalid byte in scope", PathToken, "grant_type=client_credentials&scope=mcp%20%FF", "team-a.alpha:" + secretA, "scope"},
		{"a NUL in scope", PathToken, "grant_type=client_credentials&scope=mcp%00", "team-a.alpha:" + secretA, "scope"},
		{"a newline in plugin_id", PathToken, tokenBase + "&plugin_id=github%0Aevil", "team-a.alpha:" + secretA, "plugin_id"},
		{"a C1 control character in audience", PathToken, tokenBase + "&audience=mcp%C2%85", "team-a.alpha:" + secretA, "audience"},
		{"DEL in grant_type", PathToken, "grant_type=client_credentials%7F&scope=mcp", "team-a.alpha:" + secretA, "grant_type"},
		{"an invalid byte in a posted client_id", PathToken, tokenBase + "&client_id=team-a.alpha%FF&client_secret=" + secretA, "", "client_id"},
		{"an invalid byte in a posted client_secret", PathToken, tokenBase + "&client_id=team-a.alpha&client_secret=x%FF", "", "client_secret"},
		{"an invalid byte in the Basic client_id", PathToken, tokenBase, "team-a.alpha%FF:" + secretA, "client_id"},
		{"a control character in the Basic client_secret", PathToken, tokenBase, "team-a.alpha:a%01b", "client_secret"},
		{"an invalid byte in the token to introspect", PathIntrospect, "token=abc%FF", "team-a.alpha:" + secretA, "token"},
		{"an invalid byte in token_type_hint at introspection", PathIntrospect, "token=abc&token_type_hint=access_token%FF", "team-a.alpha:" + secretA, "token_type_hint"},
		{"an invalid byte in the token to revoke", PathRevoke, "token=abc%FF", "team-a.alpha:" + secretA, "token"},
		{"a tab in token_type_hint at revocation", PathRevoke, "token=abc&token_type_hint=access_token%09", "team-a.alpha:" + secretA, "token_type_hint"},
		{"an unknown parameter with an invalid byte", PathToken, tokenBase + "&x-extra=%FF", "team-a.alpha:" + secretA, "x-extra"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			hdr := map[string]string{}
			if tc.basic != "" {
				hdr["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(tc.basic))
			}
			w := f.postRaw(tc.path, tc.body, hdr)
			if w.Code != 400 {
				t.Fatalf("status %d, want 400; body %s", w.Code, w.Body)
			}
			var e struct{ Error, ErrorDescription string }
			_ = json.Unmarshal(w.Body.Bytes(), &e)
			var body map[string]string
			_ = json.Unmarshal(w.Body.Bytes(), &body)
			if body["error"] != ErrCodeInvalidRequest {
				t.Errorf("error %q, want invalid_request", body["error"])
			}
			if d := body["error_description"]; !strings.Contains(d, "parameter "+tc.param+" ") {
				t.Errorf("description %q does not name parameter %s", d, tc.param)
			}
			if f.issuedCount() != 0 {
				t.Errorf("a token was issued")
			}
		})
	}
}

func TestInvalidParametersAreRefusedBeforeTheClientIsAuthenticated(t *testing.T) {
	// A wrong secret would be 401 invalid_client and count as a failed
	// authentication; the malformed parameter is refused first.
	f := newFixture(t)
	for range 20 {
		w := f.postRaw(PathToken, "grant_type=client_credentials&scope=mcp&audience=%FF", basic("team-a.alpha", "wrong"))
		if w.Code != 400 {
			t.Fatalf("status %d, want 400: %s", w.Code, w.Body)
		}
	}
	// Had those been authentication failures, the client would be locked
	// out by now.
	w := f.postRaw(PathToken, "grant_type=client_credentials&scope=mcp", basic("team-a.alpha", secretA))
	if w.Code != 200 {
		t.Fatalf("status %d after malformed requests, want 200: %s", w.Code, w.Body)
	}
}

func TestTextParametersAreAccepted(t *testing.T) {
	// Valid UTF-8 beyond ASCII (and a literal U+FFFD, which is text) is not
	// refused by this rule; the audience rules decide.
	f := newFixture(t)
	w := f.postRaw(PathToken, "grant_type=client_credentials&scope=mcp&audience=caf%C3%A9&audience=%EF%BF%BD", basic("team-a.alpha", secretA))
	if w.Code != 200 {
		t.Fatalf("status %d, want 200: %s", w.Code, w.Body)
	}
}

func TestTruncateKeepsRunesWhole(t *testing.T) {
	s := strings.Repeat("a", 39) + "é" + "tail"
	if got := truncate(s); got != strings.Repeat("a", 39)+"..." {
		t.Errorf("truncate split a rune: %q", got)
	}
}
