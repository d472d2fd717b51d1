package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scopegate/scopegate/hack/loadgen"
	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/tokenserver"
	"github.com/scopegate/scopegate/tokenserver/keys"
	"github.com/scopegate/scopegate/tokenserver/revocation"
)

// The client, route and scope the harness registers.
const (
	loadClientID  = "loadtest.client"
	loadScope     = "api:echo:read"
	loadAudience  = "api"
	routePrefix   = "/api/echo"
	routeKey      = "loadtest/echo"
	backendPath   = "/echo"
	tokenBaseline = "/loadtest/token-baseline"
	// backendBody is the backend's small fixed answer.
	backendBody = `{"ok":true}`
	// baselineTokenBody is the trivial token handler's fixed answer, shaped
	// like a token response (RFC 6749 §5.1).
	baselineTokenBody = `{"access_token":"baseline","token_type":"Bearer","expires_in":3600,"scope":"api:echo:read"}`
	// unthrottled is a rate limit the run never reaches.
	unthrottled = 1e9
)

// Target names, in the order they run.
const (
	targetPlainProxy    = "proxy-plain"
	targetGateway       = "gateway-cached"
	targetGatewayFresh  = "gateway-fresh"
	targetTokenBaseline = "token-baseline"
	targetTokenEndpoint = "token-endpoint"
)

// Target is one thing to load, compared with the target named Baseline
// (empty for a baseline itself).
type Target struct {
	loadgen.Target
	Baseline string
}

// target is a Target of that name, baseline and request builder.
func target(name, baseline string, newRequest func(context.Context) (*http.Request, error)) *Target {
	return &Target{Target: loadgen.Target{Name: name, NewRequest: newRequest}, Baseline: baseline}
}

// backend is the upstream service: a small fixed answer, counting the
// requests that carry the gateway's identity header for the harness client.
type backend struct {
	total        atomic.Int64
	withIdentity atomic.Int64
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.total.Add(1)
	if r.Header.Get(gateway.HeaderClientID) == loadClientID {
		b.withIdentity.Add(1)
	}
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, backendBody)
}

// Env is everything the harness starts, all on 127.0.0.1.
type Env struct {
	backend  *backend
	tokens   *tokenserver.Server
	registry *registry.Registry

	backendURL string
	plainURL   string
	gatewayURL string
	tokenURL   string

	// secret is the harness client's secret; it is never printed.
	secret string
	// cachedToken is the one token reused by the cached-gateway target.
	cachedToken string

	servers []*http.Server
}

// Start starts the backend, the plain reverse proxy, the token server and
// the gateway on loopback listeners, and registers the harness client and
// route.
func Start() (*Env, error) {
	e := &Env{backend: &backend{}, registry: registry.New()}
	ok := false
	defer func() {
		if !ok {
			e.Close()
		}
	}()

	backendURL, err := e.serve(e.backend)
	if err != nil {
		return nil, fmt.Errorf("start backend: %w", err)
	}
	e.backendURL = backendURL
	target, err := url.Parse(backendURL)
	if err != nil {
		return nil, fmt.Errorf("parse backend URL: %w", err)
	}

	// The baseline: what any reverse proxy costs, with the gateway's own
	// backend transport so that only scopegate's work differs.
	plain := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = backendPath + strings.TrimPrefix(pr.In.URL.Path, routePrefix)
			pr.SetXForwarded()
		},
		Transport: gateway.NewTransport(),
		// Requests cut off by the time bound are cancelled; that is not
		// worth a line.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	if e.plainURL, err = e.serve(plain); err != nil {
		return nil, fmt.Errorf("start plain proxy: %w", err)
	}

	// The token server's listener comes first: its URL is the issuer.
	tokenLn, err := listenLoopback()
	if err != nil {
		return nil, fmt.Errorf("listen for token server: %w", err)
	}
	e.tokenURL = "http://" + tokenLn.Addr().String()
	if err := e.startTokenServer(tokenLn); err != nil {
		_ = tokenLn.Close()
		return nil, err
	}

	gwLn, err := listenLoopback()
	if err != nil {
		return nil, fmt.Errorf("listen for gateway: %w", err)
	}
	e.gatewayURL = "http://" + gwLn.Addr().String()
	gw, err := gateway.New(gateway.Options{
		Verifier:   e.tokens,
		Registry:   e.registry,
		Issuer:     e.tokenURL,
		GatewayURL: e.gatewayURL,
		Metrics:    prometheus.NewRegistry(),
		Log:        logr.Discard(),
	})
	if err != nil {
		_ = gwLn.Close()
		return nil, fmt.Errorf("create gateway: %w", err)
	}
	gw.Table().Set(&gateway.Route{
		Key:            routeKey,
		PathPrefix:     routePrefix,
		Protocol:       gateway.ProtocolHTTP,
		Endpoints:      []*url.URL{{Scheme: target.Scheme, Host: target.Host}},
		BackendPath:    backendPath,
		RequiredScopes: []string{loadScope},
		RateLimit:      &registry.RateLimit{RequestsPerSecond: unthrottled, Burst: unthrottled},
	})
	e.start(gwLn, gw)

	tok, err := e.issue(context.Background())
	if err != nil {
		return nil, err
	}
	e.cachedToken = tok
	ok = true
	return e, nil
}

// startTokenServer builds the token server (memory key ring and
// revocations, as the manager's but without Kubernetes), registers the
// harness client, and serves the token endpoints plus the trivial baseline
// handler on one mux and one http.Server.
func (e *Env) startTokenServer(ln net.Listener) error {
	ring, err := keys.NewMemoryRing(keys.Policy{}, time.Now)
	if err != nil {
		return fmt.Errorf("create key ring: %w", err)
	}
	ts, err := tokenserver.New(tokenserver.Options{
		Issuer:      e.tokenURL,
		Registry:    e.registry,
		Keys:        ring,
		Revocations: revocation.NewMemory(time.Now),
		Now:         time.Now,
		Metrics:     prometheus.NewRegistry(),
		Log:         logr.Discard(),
	})
	if err != nil {
		return fmt.Errorf("create token server: %w", err)
	}
	e.tokens = ts

	secret, err := randomSecret()
	if err != nil {
		return err
	}
	e.secret = secret
	e.registry.Upsert(&registry.Client{
		ID:        loadClientID,
		Namespace: "loadtest",
		Name:      "client",
		Subject:   registry.SubjectFor(loadClientID),
		Scopes:    []string{loadScope},
		Audiences: []string{loadAudience},
		RateLimit: &registry.RateLimit{RequestsPerSecond: unthrottled, Burst: unthrottled},
		Secrets:   []registry.SecretDigest{{Digest: registry.Digest(secret)}},
	})

	mux := http.NewServeMux()
	ts.Mount(mux)
	mux.HandleFunc("POST "+tokenBaseline, serveTokenBaseline)
	e.start(ln, mux)
	return nil
}

// serveTokenBaseline is the token endpoint's baseline: it reads and parses
// the form as the real endpoint does, then answers a fixed JSON, so the
// ratio shows what client authentication, the grant checks and signing
// cost.
func serveTokenBaseline(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, tokenserver.MaxBodyBytes))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("grant_type") != tokenserver.GrantClientCredentials {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, baselineTokenBody)
}

// issue signs a token for the harness client through the token server.
func (e *Env) issue(ctx context.Context) (string, error) {
	tok, err := e.tokens.Issue(ctx, accesstoken.IssueRequest{ClientID: loadClientID, Scopes: []string{loadScope}, Audiences: []string{loadAudience}})
	if err != nil {
		return "", fmt.Errorf("issue harness token: %w", err)
	}
	return tok.Raw, nil
}

// Targets lists what to load, each baseline right before the targets
// compared with it. freshTokens > 0 adds the gateway with a new token per
// request (the cold verification path); that many tokens are signed now,
// before any timing starts, so signing is not measured.
func (e *Env) Targets(ctx context.Context, freshTokens int) ([]*Target, error) {
	ts := []*Target{
		target(targetPlainProxy, "", e.apiRequest(e.plainURL, func() string { return e.cachedToken })),
		target(targetGateway, targetPlainProxy, e.apiRequest(e.gatewayURL, func() string { return e.cachedToken })),
	}
	if freshTokens > 0 {
		pool := make([]string, freshTokens)
		for i := range pool {
			tok, err := e.issue(ctx)
			if err != nil {
				return nil, err
			}
			pool[i] = tok
		}
		var next atomic.Int64
		ts = append(ts, target(targetGatewayFresh, targetPlainProxy, e.apiRequest(e.gatewayURL, func() string {
			// Past the pool's end tokens repeat and hit the cache; the
			// pool is sized so that a run does not get there.
			return pool[(next.Add(1)-1)%int64(len(pool))]
		})))
	}
	ts = append(ts,
		target(targetTokenBaseline, "", e.tokenRequest(e.tokenURL+tokenBaseline)),
		target(targetTokenEndpoint, targetTokenBaseline, e.tokenRequest(e.tokenURL+tokenserver.PathToken)),
	)
	return ts, nil
}

// apiRequest builds a GET under the route through base, with a bearer token.
// The plain proxy gets the token too, so both carry the same bytes.
func (e *Env) apiRequest(base string, token func() string) func(context.Context) (*http.Request, error) {
	u := base + routePrefix + "/items"
	return func(ctx context.Context) (*http.Request, error) {
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		r.Header.Set("Authorization", "Bearer "+token())
		return r, nil
	}
}

// tokenRequest builds a client_credentials token request authenticated with
// client_secret_basic (RFC 6749 §2.3.1, §4.4.2).
func (e *Env) tokenRequest(u string) func(context.Context) (*http.Request, error) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(loadClientID)+":"+url.QueryEscape(e.secret)))
	body := url.Values{"grant_type": {tokenserver.GrantClientCredentials}, "scope": {loadScope}}.Encode()
	return func(ctx context.Context) (*http.Request, error) {
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", basic)
		return r, nil
	}
}

// Close stops every server.
func (e *Env) Close() {
	for _, s := range e.servers {
		_ = s.Close()
	}
	e.servers = nil
}

// serve starts h on a new loopback listener and returns its base URL.
func (e *Env) serve(h http.Handler) (string, error) {
	ln, err := listenLoopback()
	if err != nil {
		return "", err
	}
	e.start(ln, h)
	return "http://" + ln.Addr().String(), nil
}

// start serves h on ln with the manager's server settings (run.go's
// httpServer), so the stack under every target is the production one.
func (e *Env) start(ln net.Listener, h http.Handler) {
	s := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	e.servers = append(e.servers, s)
	go func() { _ = s.Serve(ln) }()
}

// listenLoopback listens on an ephemeral port of 127.0.0.1: the harness
// never serves or sends anywhere else.
func listenLoopback() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	return ln, nil
}

func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate client secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}
