// Command baselines serves one of the reference servers that `make bench`
// measures scopegate against, each in its own process, on a loopback
// address:
//
//   - upstream: the backend behind every proxy; a small fixed JSON answer
//     (GET /sse answers one server-sent event at once; POST .../mcp is a
//     JSON-RPC MCP server of hack/bench/mcpfixture's tools, mcp.go; a path
//     with /llm/v1/ is the stand-in model provider of internal/llm/llmtest,
//     llm.go);
//   - noop: a no-op Go HTTP handler, the ceiling of any Go HTTP server here;
//   - issuer: a minimal stdlib ES256 issuer doing the token endpoint's
//     checks and nothing else: the form parsed, client_secret_basic checked
//     against one client (SHA-256 of the secret compared in constant time),
//     the requested scopes intersected with the client's (-allowed-scopes),
//     a JWT signed with crypto/ecdsa and written as a token response; with -dpop-htu it
//     also requires one ES256 DPoP proof for that htu, verifies it (dpop.go)
//     and binds the token to its key (cnf.jkt, token_type DPoP);
//   - proxy: a plain httputil.ReverseProxy to -target, with the gateway's
//     own backend transport, so that only scopegate's work differs; with
//     -tuned the best Go reverse proxy of a few lines: a BufferPool and a
//     transport keeping 256 idle connections per host, HTTP/1.1 only to
//     the plain upstream (no HTTP/2 attempt).
//
// The servers use the manager's http.Server settings (run.go). With -tls-cert
// and -tls-key they serve TLS, for the TLS round of the harness.
//
//	baselines -role upstream|noop|issuer|proxy -addr 127.0.0.1:PORT [flags]
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/internal/llm/llmtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "baselines:", err)
		os.Exit(1)
	}
}

type options struct {
	role, addr           string
	certFile, keyFile    string
	target, prefix, path string
	clientID, secret     string
	issuer               string
	allowedScopes        string
	dpopHTU              string
	tuned                bool
}

func run() error {
	var o options
	flag.StringVar(&o.role, "role", "", "upstream, noop, issuer or proxy")
	flag.StringVar(&o.addr, "addr", "127.0.0.1:0", "Loopback address to listen on.")
	flag.StringVar(&o.certFile, "tls-cert", "", "Serve TLS with this certificate (PEM).")
	flag.StringVar(&o.keyFile, "tls-key", "", "Key of -tls-cert (PEM).")
	flag.StringVar(&o.target, "target", "", "proxy: the upstream's base URL.")
	flag.StringVar(&o.prefix, "prefix", "/api/bench", "proxy: the path prefix replaced by -backend-path, as a GatewayRoute does.")
	flag.StringVar(&o.path, "backend-path", "/echo", "proxy: the path that replaces -prefix.")
	flag.StringVar(&o.clientID, "client-id", "", "issuer: the one client_id accepted.")
	flag.StringVar(&o.issuer, "issuer", "", "issuer: iss of the tokens.")
	flag.StringVar(&o.allowedScopes, "allowed-scopes", "", "issuer: the client's scopes, space-separated; a token grants the requested ones among them (invalid_scope when none is).")
	flag.StringVar(&o.dpopHTU, "dpop-htu", "", "issuer: require one ES256 DPoP proof whose htu is this URL, and bind the token to its key.")
	flag.BoolVar(&o.tuned, "tuned", false, "proxy: recycle the 32 KiB copy buffers (httputil.ReverseProxy.BufferPool) and keep 256 idle upstream connections per host, HTTP/1.1 only.")
	flag.Parse()
	// The client secret comes through the environment, never the command
	// line (visible in ps).
	o.secret = os.Getenv("BASELINE_CLIENT_SECRET")

	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", o.addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q: only loopback addresses are served", o.addr)
	}
	var h http.Handler
	switch o.role {
	case "upstream":
		h = upstream{mcp: newMCPServer(), llm: newLLMServer()}
	case "noop":
		h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok":true}`)
		})
	case "issuer":
		if h, err = newIssuer(o); err != nil {
			return err
		}
	case "proxy":
		if h, err = newProxy(o); err != nil {
			return err
		}
	default:
		return fmt.Errorf("-role %q: want upstream, noop, issuer or proxy", o.role)
	}
	srv := &http.Server{
		Addr:              o.addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	if o.certFile != "" {
		return srv.ListenAndServeTLS(o.certFile, o.keyFile)
	}
	return srv.ListenAndServe()
}

// upstream is the backend: a small fixed answer, one SSE event, MCP, or a
// model provider.
type upstream struct {
	mcp *mcpServer
	llm *llmtest.Provider
}

func (u upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if u.serveLLM(w, r) {
		return
	}
	if strings.HasSuffix(r.URL.Path, "/mcp") {
		u.mcp.ServeHTTP(w, r)
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	if strings.HasSuffix(r.URL.Path, "/sse") {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: message\ndata: {\"ok\":true}\n\n")
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`)
}

func newProxy(o options) (http.Handler, error) {
	target, err := url.Parse(o.target)
	if err != nil || target.Host == "" {
		return nil, fmt.Errorf("-target %q: want an absolute URL", o.target)
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = o.path + strings.TrimPrefix(pr.In.URL.Path, o.prefix)
			pr.SetXForwarded()
		},
		Transport:     gateway.NewTransport(),
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
	}
	if o.tuned {
		p.BufferPool = &pool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
		p.Transport = tunedTransport()
	}
	// Full duplex: a backend may answer (and stream) before the proxy has
	// copied the whole request body to it, as the stand-in model provider
	// does on a streamed chat; without it Go's HTTP/1 server closes the
	// unread request body when the answer's headers go out, the transport
	// drops the backend connection, and the stream breaks off.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).EnableFullDuplex()
		p.ServeHTTP(w, r)
	}), nil
}

// tunedTransport keeps an idle connection to the upstream for every worker
// and more (256 per host), and speaks HTTP/1.1 only: the upstream is plain
// HTTP, so there is no HTTP/2 to attempt.
func tunedTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	t.ForceAttemptHTTP2 = false
	t.DisableCompression = true
	return t
}

// pool is a plain httputil.BufferPool.
type pool struct{ p sync.Pool }

func (p *pool) Get() []byte { return *p.p.Get().(*[]byte) }

func (p *pool) Put(b []byte) {
	if cap(b) == 32<<10 {
		b = b[:cap(b)]
		p.p.Put(&b)
	}
}

// issuer is the minimal ES256 token endpoint.
type issuer struct {
	key      *ecdsa.PrivateKey
	clientID string
	digest   [32]byte
	// allowed is the client's scopes.
	allowed []string
	iss     string
	header  string
	// dpop, when set, requires a DPoP proof on every token request.
	dpop *proofChecker
}

func newIssuer(o options) (*issuer, error) {
	allowed := strings.Fields(o.allowedScopes)
	if o.clientID == "" || o.secret == "" || o.issuer == "" || len(allowed) == 0 {
		return nil, fmt.Errorf("issuer: -client-id, -issuer, -allowed-scopes and $BASELINE_CLIENT_SECRET are required")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ES256 key: %w", err)
	}
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"baseline","typ":"at+jwt"}`))
	is := &issuer{key: key, clientID: o.clientID, digest: sha256.Sum256([]byte(o.secret)), allowed: allowed, iss: o.issuer, header: hdr}
	if o.dpopHTU != "" {
		is.dpop = newProofChecker(o.dpopHTU)
	}
	return is, nil
}

func (is *issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	}
	d := sha256.Sum256([]byte(secret))
	if !ok || id != is.clientID || subtle.ConstantTimeCompare(d[:], is.digest[:]) != 1 {
		w.Header().Set("WWW-Authenticate", "Basic")
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	granted := is.grant(r.PostForm.Get("scope"))
	if granted == "" {
		http.Error(w, `{"error":"invalid_scope"}`, http.StatusBadRequest)
		return
	}
	now := time.Now()
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	c := map[string]any{
		"iss": is.iss, "sub": id, "aud": []string{"api"}, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix(),
		"jti": hex.EncodeToString(jti), "client_id": id, "scope": granted,
	}
	tokenType := "Bearer"
	if is.dpop != nil {
		proofs := r.Header.Values("DPoP")
		if len(proofs) != 1 {
			http.Error(w, `{"error":"invalid_dpop_proof"}`, http.StatusBadRequest)
			return
		}
		jkt, err := is.dpop.check(proofs[0], r.Method, now)
		if err != nil {
			http.Error(w, `{"error":"invalid_dpop_proof"}`, http.StatusBadRequest)
			return
		}
		c["cnf"] = map[string]string{"jkt": jkt}
		tokenType = "DPoP"
	}
	claims, err := json.Marshal(c)
	if err != nil {
		http.Error(w, "encode claims", http.StatusInternalServerError)
		return
	}
	signing := is.header + "." + base64.RawURLEncoding.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	rr, ss, err := ecdsa.Sign(rand.Reader, is.key, sum[:])
	if err != nil {
		http.Error(w, "sign", http.StatusInternalServerError)
		return
	}
	sig := make([]byte, 64)
	rr.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": signing + "." + base64.RawURLEncoding.EncodeToString(sig),
		"token_type":   tokenType, "expires_in": 3600, "scope": granted,
	})
}

// grant is the requested scopes (space-separated, RFC 6749 §3.3) that the
// client holds, each once, in the order requested, as the token endpoint
// intersects them: a scope the client lacks is left out, and "" (answered
// invalid_scope) when none is left.
func (is *issuer) grant(requested string) string {
	var granted []string
	for s := range strings.SplitSeq(requested, " ") {
		if s != "" && slices.Contains(is.allowed, s) && !slices.Contains(granted, s) {
			granted = append(granted, s)
		}
	}
	return strings.Join(granted, " ")
}
