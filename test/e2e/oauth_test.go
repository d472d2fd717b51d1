package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// token fetches an access token with golang.org/x/oauth2's client
// credentials flow (client_secret_basic) and fails t naming the client.
func (h *harness) token(t *testing.T, c creds, scope string, params url.Values) string {
	t.Helper()
	tok, err := h.tokenWith(c, scope, params, oauth2.AuthStyleInHeader)
	if err != nil {
		t.Fatalf("e2e: x/oauth2 clientcredentials: token for %s (scope %q, %v): %v", c.ClientID, scope, params, err)
	}
	return tok.AccessToken
}

func (h *harness) tokenWith(c creds, scope string, params url.Values, style oauth2.AuthStyle) (*oauth2.Token, error) {
	tokenURL := c.TokenURL // token_url of the credentials Secret
	if tokenURL == "" {
		tokenURL = h.issuer + "/oauth/token"
	}
	cfg := clientcredentials.Config{
		ClientID:       c.ClientID,
		ClientSecret:   c.ClientSecret,
		TokenURL:       tokenURL,
		Scopes:         strings.Fields(scope),
		EndpointParams: params,
		AuthStyle:      style,
	}
	hc := h.http
	if len(c.CACert) > 0 {
		// As a pod would: trust only the ca.crt of the credentials Secret.
		var err error
		if hc, err = h.clientTrusting(c.CACert); err != nil {
			return nil, err
		}
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	return cfg.Token(ctx)
}

// clientTrusting is an http.Client whose only roots are bundle; one per
// bundle, so that its connections are reused.
func (h *harness) clientTrusting(bundle []byte) (*http.Client, error) {
	clientsMu.Lock()
	defer clientsMu.Unlock()
	if c, ok := clientsByBundle[string(bundle)]; ok {
		return c, nil
	}
	pool, err := poolOf(bundle)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: newTransport(pool)}
	clientsByBundle[string(bundle)] = c
	return c, nil
}

var (
	clientsMu       sync.Mutex
	clientsByBundle = map[string]*http.Client{}
)

// oauthResponse is an answer of the token server.
type oauthResponse struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (r oauthResponse) String() string {
	return fmt.Sprintf("%d %s", r.Status, strings.TrimSpace(r.Raw))
}

// postForm posts form to the token server path, authenticating as c with
// client_secret_basic (c may be zero: no authentication).
func (h *harness) postForm(path string, c creds, form url.Values) (oauthResponse, error) {
	req, err := http.NewRequest(http.MethodPost, h.issuer+path, strings.NewReader(form.Encode()))
	if err != nil {
		return oauthResponse{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.ClientID != "" {
		// RFC 6749 §2.3.1: form-encode, then Basic.
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString(
			[]byte(url.QueryEscape(c.ClientID)+":"+url.QueryEscape(c.ClientSecret))))
	}
	res, err := h.http.Do(req)
	if err != nil {
		return oauthResponse{}, fmt.Errorf("e2e: POST %s: %w", path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := oauthResponse{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &out.Body)
	return out, nil
}

// introspect asks the token server, authenticated as c, about token (RFC 7662).
func (h *harness) introspect(t *testing.T, c creds, token string) oauthResponse {
	t.Helper()
	r, err := h.postForm("/oauth/introspect", c, url.Values{"token": {token}})
	if err != nil {
		t.Fatalf("e2e: introspection as %s: %v", c.ClientID, err)
	}
	if r.Status != http.StatusOK {
		t.Fatalf("e2e: introspection as %s: got %s, want 200", c.ClientID, r)
	}
	return r
}

func (r oauthResponse) active() bool {
	a, _ := r.Body["active"].(bool)
	return a
}

// gatewayResponse is an answer of the gateway.
type gatewayResponse struct {
	Status int
	Header http.Header
	Body   string
}

func (r gatewayResponse) String() string {
	s := fmt.Sprintf("%d", r.Status)
	if w := r.Header.Get("WWW-Authenticate"); w != "" {
		s += " WWW-Authenticate: " + w
	}
	return s + " " + strings.TrimSpace(r.Body)
}

// gateway sends method path to the gateway with a bearer token ("" for none).
func (h *harness) gateway(method, path, token string) (gatewayResponse, error) {
	req, err := http.NewRequest(method, h.gatewayURL+path, nil)
	if err != nil {
		return gatewayResponse{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := h.http.Do(req)
	if err != nil {
		return gatewayResponse{}, fmt.Errorf("e2e: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return gatewayResponse{Status: res.StatusCode, Header: res.Header, Body: string(b)}, nil
}

// gatewayStatus polls path with token until the gateway answers want, and
// fails t with step and the last answer otherwise.
func (h *harness) expectGateway(t *testing.T, step, path, token string, want int) gatewayResponse {
	t.Helper()
	var last gatewayResponse
	eventually(t, fmt.Sprintf("gateway %s: GET %s answers %d", step, path, want), defaultWait, pollInterval, func() (bool, string) {
		r, err := h.gateway(http.MethodGet, path, token)
		if err != nil {
			return false, err.Error()
		}
		last = r
		return r.Status == want, r.String()
	})
	return last
}

// expectGatewayAny polls until the gateway answers one of wants.
func (h *harness) expectGatewayAny(t *testing.T, step, path, token string, wants ...int) gatewayResponse {
	t.Helper()
	var last gatewayResponse
	eventually(t, fmt.Sprintf("gateway %s: GET %s answers one of %v", step, path, wants), defaultWait, pollInterval, func() (bool, string) {
		r, err := h.gateway(http.MethodGet, path, token)
		if err != nil {
			return false, err.Error()
		}
		last = r
		return slices.Contains(wants, r.Status), r.String()
	})
	return last
}

// waitRoute polls until the gateway knows the route at prefix: a call
// without a token answers 401 rather than 404.
func (h *harness) waitRoute(t *testing.T, prefix string) gatewayResponse {
	t.Helper()
	return h.expectGateway(t, "route "+prefix+" is served", prefix, "", http.StatusUnauthorized)
}

// bearerError is the error parameter of a Bearer challenge.
func bearerError(h http.Header) string {
	w := h.Get("WWW-Authenticate")
	i := strings.Index(w, `error="`)
	if i < 0 {
		return ""
	}
	rest := w[i+len(`error="`):]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return rest
}

// claimsOf decodes the payload of a JWT without verifying it (the clients
// under test verify; the harness only reads).
func claimsOf(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("e2e: access token is not a JWS compact serialization: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("e2e: decode token payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("e2e: decode token claims: %v", err)
	}
	return m
}

func headerOf(t *testing.T, token string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatalf("e2e: decode token header: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("e2e: decode token header: %v", err)
	}
	return m
}
