package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/dpop"
	"github.com/scopegate/scopegate/internal/llm"
	"github.com/scopegate/scopegate/internal/ratelimit"
	"github.com/scopegate/scopegate/internal/registry"
)

// Options configure a Gateway.
type Options struct {
	// Verifier checks bearer tokens. Required.
	Verifier accesstoken.Verifier
	// Registry supplies each client's overall rate limit (Client.RateLimit).
	// Optional: without it only route limits apply.
	Registry *registry.Registry
	// Issuer is the authorization server listed in resource metadata.
	// Required.
	Issuer string
	// GatewayURL is the gateway's external base URL, e.g.
	// https://gateway.example.com; route resource identifiers are
	// <GatewayURL><pathPrefix>. Required.
	GatewayURL string
	// Table is the route table; nil means a new empty one (see
	// Gateway.Table).
	Table *Table
	// TrustedProxies are the peers whose X-Forwarded-* headers are believed.
	TrustedProxies []netip.Prefix
	// ClientCertificates: the listener serves TLS and requests client
	// certificates, so certificate-bound tokens (RFC 8705) can be used;
	// the routes' metadata says so.
	ClientCertificates bool
	// Transport sends requests to backends; nil means a shared
	// http.Transport tuned for connection reuse.
	Transport http.RoundTripper
	// Metrics is where the gateway's metrics are registered; nil means
	// nowhere.
	Metrics prometheus.Registerer
	// Log receives one line per decision.
	Log logr.Logger
	// Now is the clock, for rate limits; nil means time.Now.
	Now func() time.Time
	// MaxRateLimitKeys caps the token buckets held in memory, for
	// clients and for source addresses each; 0 means 100000.
	MaxRateLimitKeys int
	// RateLimitStore holds the rate-limit buckets when they are shared
	// by every replica (ratelimit.Redis); nil means token buckets in this
	// replica's memory, each limit divided among the Replicas.
	RateLimitStore ratelimit.Store
	// RateLimitFailureMode is what a request gets when RateLimitStore
	// does not answer: RateLimitFailOpen (the default: it passes, counted
	// in scopegate_gateway_rate_limit_unchecked_total) or
	// RateLimitFailClosed (503 with Retry-After).
	RateLimitFailureMode string
	// Replicas counts the replicas serving, whose local buckets share each
	// limit (limit/N each); nil means this replica enforces the whole
	// limit.
	Replicas ReplicaCounter
	// DPoP checks the proofs of DPoP-bound tokens; nil means a verifier
	// with the default window and replay cache, on Now.
	DPoP *dpop.Verifier
	// MaxInspectBytes is the largest request body read on a route with
	// item rules (larger ones are 413); 0 means DefaultMaxInspectBytes.
	MaxInspectBytes int64
	// DecisionLog is which decisions get a log line: DecisionLogDenied
	// (the default), DecisionLogAll or DecisionLogOff. Every decision is
	// counted in the metrics whatever it is.
	DecisionLog string
}

// Values of Options.RateLimitFailureMode (--rate-limit-failure-mode).
const (
	RateLimitFailOpen   = "open"
	RateLimitFailClosed = "closed"
)

// ReplicaCounter tells how many replicas serve; 0 when it cannot tell.
type ReplicaCounter interface {
	Replicas() int
}

// Values of Options.DecisionLog (--decision-log).
const (
	DecisionLogDenied = "denied"
	DecisionLogAll    = "all"
	DecisionLogOff    = "off"
)

// Gateway is the embedded API gateway, an http.Handler.
type Gateway struct {
	verifier       accesstoken.Verifier
	registry       *registry.Registry
	issuer         string
	gatewayURL     string
	clientCerts    bool
	table          *Table
	trustedProxies []netip.Prefix
	log            logr.Logger
	logAllowed     bool
	logDenied      bool
	now            func() time.Time
	metrics        *metrics
	// limiters hold the buckets of authenticated clients, anonLimiters
	// those of source addresses: apart, so that a flood of addresses,
	// which anyone can mint, never sheds a client's drained bucket.
	dpop         *dpop.Verifier
	limiters     *limiterStore
	anonLimiters *limiterStore
	// maxInspect is Options.MaxInspectBytes.
	maxInspect int64
	// shared, when set, holds every bucket instead (Redis).
	shared          ratelimit.Store
	limitFailClosed bool
	replicas        ReplicaCounter
	limitMetrics    *limitMetrics
	proxy           http.Handler
	// lean is the lean forwarding path's connection pool (forward.go);
	// nil when Options.Transport is set, which the reverse proxy uses.
	lean *leanPool
	// buffers recycles the proxy's copy buffers.
	buffers *bufferPool
	// quotas count LLM clients' tokens in this replica's memory, each
	// limit its share; counters, when the shared store holds counters
	// (Redis), count them instead; llmMetrics are the GenAI series.
	quotas     *llm.Quotas
	counters   ratelimit.Counters
	llmMetrics *llmMetrics
	// afterFunc starts the timer of an upgrade request's timeout
	// (time.AfterFunc; tests fire it by hand).
	afterFunc func(time.Duration, func()) (stop func() bool)
}

// New returns a gateway serving the routes of opts.Table.
func New(opts Options) (*Gateway, error) {
	if opts.Verifier == nil {
		return nil, errors.New("create gateway: a token verifier is required")
	}
	if opts.Issuer == "" {
		return nil, errors.New("create gateway: an issuer is required")
	}
	u, err := url.Parse(opts.GatewayURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("create gateway: gateway URL %q must be an absolute http(s) URL", opts.GatewayURL)
	}
	switch opts.DecisionLog {
	case "", DecisionLogDenied, DecisionLogAll, DecisionLogOff:
	default:
		return nil, fmt.Errorf("create gateway: decision log %q must be denied, all or off", opts.DecisionLog)
	}
	switch opts.RateLimitFailureMode {
	case "", RateLimitFailOpen, RateLimitFailClosed:
	default:
		return nil, fmt.Errorf("create gateway: rate-limit failure mode %q must be open or closed", opts.RateLimitFailureMode)
	}
	g := &Gateway{
		logAllowed:     opts.DecisionLog == DecisionLogAll,
		logDenied:      opts.DecisionLog != DecisionLogOff,
		verifier:       opts.Verifier,
		registry:       opts.Registry,
		issuer:         opts.Issuer,
		gatewayURL:     strings.TrimSuffix(opts.GatewayURL, "/"),
		clientCerts:    opts.ClientCertificates,
		table:          opts.Table,
		trustedProxies: opts.TrustedProxies,
		log:            opts.Log,
		now:            opts.Now,
		buffers:        newBufferPool(),
		maxInspect:     opts.MaxInspectBytes,
	}
	if g.maxInspect <= 0 {
		g.maxInspect = DefaultMaxInspectBytes
	}
	if g.table == nil {
		g.table = NewTable()
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.dpop = opts.DPoP; g.dpop == nil {
		g.dpop = dpop.NewVerifier(dpop.Options{Now: g.now})
	}
	g.afterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	maxKeys := opts.MaxRateLimitKeys
	if maxKeys <= 0 {
		maxKeys = 100000
	}
	g.limiters = newLimiterStore(maxKeys)
	g.anonLimiters = newLimiterStore(maxKeys)
	g.shared, g.replicas = opts.RateLimitStore, opts.Replicas
	g.limitFailClosed = opts.RateLimitFailureMode == RateLimitFailClosed
	if g.limitMetrics, err = newLimitMetrics(opts.Metrics); err != nil {
		return nil, fmt.Errorf("create gateway: %w", err)
	}
	if g.metrics, err = newMetrics(opts.Metrics); err != nil {
		return nil, fmt.Errorf("create gateway: %w", err)
	}
	g.quotas = llm.NewQuotas(g.now)
	if c, ok := g.shared.(ratelimit.Counters); ok {
		g.counters = c
	}
	if g.llmMetrics, err = newLLMMetrics(opts.Metrics); err != nil {
		return nil, fmt.Errorf("create gateway: %w", err)
	}
	g.table.OnDelete(g.metrics.forget)
	g.table.OnDelete(g.llmMetrics.forget)
	transport := opts.Transport
	if transport == nil {
		transport = NewTransport()
		g.lean = newLeanPool()
	}
	g.proxy = g.newReverseProxy(&routeTransport{shared: transport, tls: &backendTransports{}})
	return g, nil
}

// Table is the route table the GatewayRoute controller feeds.
func (g *Gateway) Table() *Table { return g.table }

// decision is what the gateway decided about one request, logged and
// counted once the response is done.
type decision struct {
	route    string
	clientID string
	jti      string
	decision string
	reason   string
	// call is what the request's JSON-RPC body asked for, on a route with
	// item rules.
	call rpcCall
	// traceID is the request's x-trace-id, computed on first use.
	traceID string
}

// trace is the request's trace id: from its traceparent, or new, the same
// for the forwarded x-trace-id and the decision log.
func (d *decision) trace(r *http.Request) string {
	if d.traceID == "" {
		d.traceID = traceID(r.Header.Get("Traceparent"))
	}
	return d.traceID
}

const (
	decisionAllow = "allow"
	decisionDeny  = "deny"
)

// ServeHTTP handles one request: it runs the decision (decide), then
// answers a refusal, serves resource metadata, or forwards.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	rec := &statusRecorder{ResponseWriter: w}
	d := &decision{}
	defer g.finish(rec, r, d, start)

	f := requestFacts(r)
	f.req = r
	v := g.decide(r.Context(), &f, takeTokens, false)
	if v.entry != nil {
		d.route = v.entry.route.Key
	}
	if v.claims != nil {
		d.clientID, d.jti = v.claims.ClientID, v.claims.ID
	}
	d.call = v.call
	if !v.allowed {
		g.deny(rec, d, v.err)
		return
	}
	if v.metadata {
		d.decision, d.reason = decisionAllow, v.reason
		g.serveMetadata(rec, v.entry.route)
		return
	}
	if v.rate.known {
		// One array holds the three values (three Sets allocate one each).
		vals := &[3]string{strconv.Itoa(v.rate.limit), strconv.Itoa(v.rate.remaining), seconds(v.rate.retryAfter)}
		h := rec.Header()
		h["Ratelimit-Limit"] = vals[0:1:1]
		h["Ratelimit-Remaining"] = vals[1:2:2]
		h["Ratelimit-Reset"] = vals[2:3:3]
	}
	if v.llm != nil {
		g.serveLLM(rec, r, &v, d)
		return
	}
	rt := v.entry.route
	g.forward(rec, r, v.entry, &forward{
		route: rt, path: backendPath(rt.BackendPath, rt.PathPrefix, v.clean, v.trailing), peerTrusted: g.peerTrusted(r),
		claims: v.claims, agentCard: v.agentCard, lists: v.lists,
		listsByShape: v.listsByShape, listsPrivate: v.listsPrivate,
	}, d, v.reason)
}

func isCORSPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// deny answers a refusal and records it.
func (g *Gateway) deny(w http.ResponseWriter, d *decision, e *gatewayError) {
	d.decision, d.reason = decisionDeny, e.Reason
	writeError(w, e)
}

// finish logs and counts one decision. The token never appears here: only
// its client_id and jti; the path is logged without its query string.
func (g *Gateway) finish(rec *statusRecorder, r *http.Request, d *decision, start time.Time) {
	latency := g.now().Sub(start)
	status := rec.code()
	if d.decision == "" {
		d.decision = decisionDeny
	}
	s := g.metrics.of(seriesKey{route: d.route, code: status, decision: d.decision, reason: d.reason, method: d.call.method, item: d.call.item})
	s.requests.Inc()
	s.duration.Observe(latency.Seconds())
	s.decisions.Inc()
	if d.decision == decisionAllow && !g.logAllowed || d.decision == decisionDeny && !g.logDenied {
		return
	}
	kv := []any{"trace_id", d.trace(r), "route", d.route, "client_id", d.clientID, "jti", d.jti,
		"decision", d.decision, "reason", d.reason, "status", status,
		"method", r.Method, "path", logPath(r.URL.Path), "latency", latency}
	if d.call.rawMethod != "" {
		kv = append(kv, "jsonrpc_method", d.call.rawMethod)
	}
	if d.call.rawItem != "" {
		kv = append(kv, "item", d.call.rawItem)
	}
	g.log.Info("Gateway decision", kv...)
}

// logPath bounds a logged path: the decision log is not a place for
// megabyte-long URLs.
func logPath(p string) string {
	if len(p) > 256 {
		return p[:256] + "..."
	}
	return p
}
