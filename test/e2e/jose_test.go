package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

type joseResult struct {
	Published []string `json:"published"`
	Verified  map[string]struct {
		Kid string `json:"kid"`
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Jti string `json:"jti"`
	} `json:"verified"`
}

// jwksURI is jwks_uri from the token server's RFC 8414 metadata.
func (h *harness) jwksURI(t *testing.T) string {
	t.Helper()
	res, err := h.http.Get(h.issuer + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatalf("e2e: GET metadata: %v", err)
	}
	defer res.Body.Close()
	var md struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(res.Body).Decode(&md); err != nil || md.JWKSURI == "" {
		t.Fatalf("e2e: metadata: %s, jwks_uri %q, decode error %v", res.Status, md.JWKSURI, err)
	}
	return md.JWKSURI
}

func TestJoseVerifiesTokensAcrossASigningKeyRotation(t *testing.T) {
	h := env(t)
	c := h.nodeClient(t)
	jwks := h.jwksURI(t)
	before := h.token(t, c, "mcp", nil)
	oldKid, _ := headerOf(t, before)["kid"].(string)

	var first joseResult
	runNode(t, "jose_verify.mjs", map[string]any{
		"jwksUri": jwks, "issuer": h.issuer, "audience": "mcp", "tokens": map[string]string{"before": before},
	}, &first)
	if first.Verified["before"].Kid != oldKid || !slices.Contains(first.Published, oldKid) {
		t.Fatalf("e2e: jose before rotation: verified kid %q, published %v; want %q published", first.Verified["before"].Kid, first.Published, oldKid)
	}

	value := fmt.Sprintf("e2e-%d", time.Now().UnixNano())
	h.mustKubectl(t, "request a signing-key rotation", "-n", operatorNamespace, "annotate", "secret", "scopegate-signing-keys",
		"scopegate.dev/rotate-signing-key="+value, "--overwrite")

	var after string
	eventually(t, "a token signed by a new key after annotating the signing-keys Secret", defaultWait, 500*time.Millisecond, func() (bool, string) {
		tok, err := h.tokenWith(c, "mcp", nil, oauth2.AuthStyleInHeader)
		if err != nil {
			return false, err.Error()
		}
		kid, _ := headerOf(t, tok.AccessToken)["kid"].(string)
		if kid == oldKid {
			return false, "new tokens still carry kid " + kid
		}
		after = tok.AccessToken
		return true, ""
	})

	var second joseResult
	runNode(t, "jose_verify.mjs", map[string]any{
		"jwksUri": jwks, "issuer": h.issuer, "audience": "mcp", "tokens": map[string]string{"before": before, "after": after},
	}, &second)
	newKid := second.Verified["after"].Kid
	if second.Verified["before"].Kid != oldKid || newKid == oldKid {
		t.Errorf("e2e: jose after rotation: kids before %q after %q, want %q and a different one", second.Verified["before"].Kid, newKid, oldKid)
	}
	if !slices.Contains(second.Published, oldKid) || !slices.Contains(second.Published, newKid) {
		t.Errorf("e2e: JWKS after rotation publishes %v, want both %q (retired, still valid tokens) and %q", second.Published, oldKid, newKid)
	}
	// The gateway accepts tokens of both keys too.
	h.expectGateway(t, "token signed before the rotation", "/e2e/node/api/before", before, http.StatusOK)
	h.expectGateway(t, "token signed after the rotation", "/e2e/node/api/after", after, http.StatusOK)
}
