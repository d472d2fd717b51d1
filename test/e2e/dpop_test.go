package e2e

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dpopRefusal is how the gateway refused a call, as oauth4webapi saw it:
// the status and the WWW-Authenticate challenge.
type dpopRefusal struct {
	Status           int    `json:"status"`
	Scheme           string `json:"scheme"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	Algs             string `json:"algs"`
}

// TestDPoPBoundTokensThroughTheGateway drives the token endpoint and the
// gateway with oauth4webapi's DPoP support (RFC 9449): a client that
// requires DPoP gets a bound token, calls a route with a proof, and the
// gateway refuses the same proof replayed, a proof by another key and the
// token sent as a bearer token.
func TestDPoPBoundTokensThroughTheGateway(t *testing.T) {
	h := env(t)
	h.apply(t, "dpop.yaml", h.vars())
	h.waitReady(t, "e2e-dpop", "oauthclient/dpop-client")
	h.waitReady(t, "e2e-dpop", "gatewayroute/dpop-api")
	h.waitReady(t, "e2e-dpop", "gatewayroute/dpop-only")
	h.waitReady(t, "e2e-dpop", "oauthclient/bearer-client")
	h.waitRoute(t, "/e2e/dpop/api")
	h.waitRoute(t, "/e2e/dpop/only")
	c := h.credentials(t, "e2e-dpop", "dpop-client")

	var res struct {
		TokenType   string      `json:"tokenType"`
		AccessToken string      `json:"accessToken"`
		Status      int         `json:"status"`
		Replayed    dpopRefusal `json:"replayed"`
		OtherKey    dpopRefusal `json:"otherKey"`
		AsBearer    dpopRefusal `json:"asBearer"`
		Required    struct {
			Status                        int  `json:"status"`
			DPoPBoundAccessTokensRequired bool `json:"dpopBoundAccessTokensRequired"`
		} `json:"required"`
	}
	runNode(t, "dpop.mjs", map[string]any{
		"issuer": h.issuer, "clientId": c.ClientID, "clientSecret": c.ClientSecret,
		"scope": "mcp", "url": h.gatewayURL + "/e2e/dpop/api/call",
		"requiredResource": h.gatewayURL + "/e2e/dpop/only",
	}, &res)

	t.Run("The token endpoint issues a DPoP token bound to the client's key", func(t *testing.T) {
		if res.TokenType != "dpop" { // oauth4webapi lower-cases token_type
			t.Errorf("e2e: token_type %q, want DPoP", res.TokenType)
		}
		cnf, _ := claimsOf(t, res.AccessToken)["cnf"].(map[string]any)
		jkt, _ := cnf["jkt"].(string)
		if len(jkt) != 43 {
			t.Errorf("e2e: token cnf %v, want a jkt (an RFC 7638 SHA-256 thumbprint, 43 characters)", cnf)
		}
		in := h.introspect(t, c, res.AccessToken)
		inCnf, _ := in.Body["cnf"].(map[string]any)
		if !in.active() || inCnf["jkt"] != jkt {
			t.Errorf("e2e: introspection of the DPoP token %s: want active with cnf.jkt %s", in, jkt)
		}
	})

	t.Run("A call with a proof reaches the backend without the proof", func(t *testing.T) {
		if res.Status != http.StatusOK {
			t.Fatalf("e2e: gateway answered %d, want 200", res.Status)
		}
		got, err := h.echo.received("/dpop/call")
		if err != nil {
			t.Fatal(err)
		}
		checkIdentityHeaders(t, got.Headers, c.ClientID, "mcp")
		if v := http.Header(got.Headers).Get("DPoP"); v != "" {
			t.Errorf("e2e: the backend received the DPoP proof")
		}
	})

	refusals := []struct {
		name          string
		got           dpopRefusal
		error, reason string
	}{
		{"The same proof replayed is refused", res.Replayed, "invalid_dpop_proof", "invalid_dpop_proof"},
		{"A proof by another key is refused", res.OtherKey, "invalid_dpop_proof", "invalid_dpop_proof"},
		{"The bound token sent as a bearer token is refused", res.AsBearer, "invalid_token", "dpop_required"},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			if r.got.Status != http.StatusUnauthorized || !strings.EqualFold(r.got.Scheme, "DPoP") || r.got.Error != r.error {
				t.Errorf("e2e: refusal %+v, want 401 with a DPoP challenge, error %s", r.got, r.error)
			}
			if !strings.Contains(" "+r.got.Algs+" ", " ES256 ") {
				t.Errorf("e2e: challenge algs %q lacks ES256", r.got.Algs)
			}
			h.waitMetric(t, "scopegate_gateway_decisions_total", `route="e2e-dpop/dpop-api"`, `decision="deny"`, `reason="`+r.reason+`"`)
		})
	}

	t.Run("A route with requireDPoP says so in its metadata, takes the bound token and refuses a bearer token", func(t *testing.T) {
		if !res.Required.DPoPBoundAccessTokensRequired {
			t.Errorf("e2e: the route's RFC 9728 metadata lacks dpop_bound_access_tokens_required: true")
		}
		if res.Required.Status != http.StatusOK {
			t.Errorf("e2e: the DPoP-bound token with a proof: %d, want 200", res.Required.Status)
		}
		if _, err := h.echo.received("/dpop-only/call"); err != nil {
			t.Error(err)
		}
		bearer := h.credentials(t, "e2e-dpop", "bearer-client")
		tok := h.token(t, bearer, "mcp", nil)
		h.expectGateway(t, "bearer-client's bearer token on /e2e/dpop/api", "/e2e/dpop/api/bearer", tok, http.StatusOK)
		r := h.expectGateway(t, "bearer-client's bearer token on /e2e/dpop/only", "/e2e/dpop/only/bearer", tok, http.StatusUnauthorized)
		if w := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(w, "DPoP ") || bearerError(r.Header) != "invalid_token" {
			t.Errorf("e2e: refusal %s, want a DPoP challenge with error invalid_token", r)
		}
		h.waitMetric(t, "scopegate_gateway_decisions_total", `route="e2e-dpop/dpop-only"`, `decision="deny"`, `reason="dpop_required"`)
	})

	t.Run("The README's oauth4webapi example works as printed", func(t *testing.T) {
		out := h.runReadmeDPoPExample(t, c, h.gatewayURL+"/e2e/dpop/api/readme")
		if want := "dpop\n200"; out != want {
			t.Errorf("e2e: README example printed %q, want %q", out, want)
		}
		if _, err := h.echo.received("/dpop/readme"); err != nil {
			t.Error(err)
		}
	})
}

// readmeJS matches the JavaScript blocks of a Markdown file.
var readmeJS = regexp.MustCompile("(?s)```js\n(.*?)```")

// runReadmeDPoPExample runs the two JavaScript blocks of the README's DPoP
// section as one module, with the example gateway URL replaced by url, and
// returns what it printed (the token type, then the gateway's status).
func (h *harness) runReadmeDPoPExample(t *testing.T, c creds, url string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "## Sender-constrained tokens (DPoP)")
	if start < 0 {
		t.Fatal("e2e: README.md has no section \"Sender-constrained tokens (DPoP)\"")
	}
	section := readme[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	blocks := readmeJS.FindAllStringSubmatch(section, -1)
	if len(blocks) != 2 {
		t.Fatalf("e2e: the README's DPoP section has %d js blocks, want 2 (token request, gateway call)", len(blocks))
	}
	const example = "https://<gateway>/mcp/echo/hello"
	if !strings.Contains(blocks[1][1], example) {
		t.Fatalf("e2e: the README's gateway call no longer uses %s", example)
	}
	src := blocks[0][1] + strings.Replace(blocks[1][1], example, url, 1) + "console.log(res.status)\n"

	// Beside node_modules, so that the module resolves oauth4webapi.
	dir, err := os.MkdirTemp(filepath.Join(h.root, "test", "e2e"), ".readme-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	script := filepath.Join(dir, "dpop.mjs")
	if err := os.WriteFile(script, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+suite.trust.file,
		"ISSUER="+h.issuer, "CLIENT_ID="+c.ClientID, "CLIENT_SECRET="+c.ClientSecret)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("e2e: node README DPoP example: %v\nstderr: %s\nscript:\n%s", err, stderr.String(), src)
	}
	return strings.TrimSpace(stdout.String())
}
