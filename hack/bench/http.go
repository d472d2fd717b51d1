package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/hack/bench/pki"
	"github.com/scopegate/scopegate/hack/bench/plan"
	"github.com/scopegate/scopegate/internal/testenv"
)

// The client and route of the HTTP measurements.
const (
	httpNamespace = "bench-http"
	httpClient    = "loader"
	httpScope     = "api:bench:read"
	httpAudience  = "api"
	routePrefix   = "/api/bench"
	backendPath   = "/echo"
	// Rate limits far above what 16 workers offer, so the limiter runs on
	// every request and never refuses one.
	highRate  = 100000
	highBurst = 1000000
)

// Target names.
const (
	tNoop     = "noop"
	tNoopTCP  = "noop-cleartext"
	tIssuer   = "issuer-es256"
	tToken    = "scopegate-token"
	tUpstream = "upstream-direct"
	tProxy    = "proxy-plain"
	tPooled   = "proxy-pooled"
	// nginx's proxy_pass with upstream keep-alive (issue 22).
	tNginx    = "nginx-proxy"
	tGateway  = "scopegate-gateway"
	tSSEProxy = "sse-direct"
	tSSEGw    = "sse-gateway"

	// DPoP (issue 23): a fresh proof on every request.
	tIssuerDPoP  = "issuer-es256-dpop"
	tTokenDPoP   = "scopegate-token-dpop"
	tProxyDPoP   = "proxy-plain-dpop-client"
	tGatewayDPoP = "scopegate-gateway-dpop"
	// Redis-backed limits (issue 24): a second manager whose buckets are in
	// Redis on loopback.
	tGatewayRedis = "scopegate-gateway-redis"
	// MCP item rules (issue 19): JSON-RPC through the plain proxy, an MCP
	// route without rules and one with 50 tool rules.
	tProxyMCPCall      = "proxy-plain-mcp-call"
	tGatewayMCPNoRules = "scopegate-gateway-mcp-call-norules"
	tGatewayMCPCall    = "scopegate-gateway-mcp-call"
	tProxyMCPList      = "proxy-plain-mcp-list"
	tGatewayMCPList    = "scopegate-gateway-mcp-list"
	// LLM routes (issue 20): a chat completion to the stand-in model
	// provider through the plain proxy and through an LLM route, whole and
	// streamed (time to the first byte of the stream).
	tProxyLLMChat     = "proxy-plain-llm-chat"
	tGatewayLLMChat   = "scopegate-gateway-llm-chat"
	tProxyLLMStream   = "proxy-plain-llm-stream"
	tGatewayLLMStream = "scopegate-gateway-llm-stream"
)

// HTTPResult is the token endpoint and gateway measurements.
type HTTPResult struct {
	// TLS is whether every measured server but the upstream served TLS;
	// Protocols are what the load generator's answers came over, with the
	// targets that used each.
	TLS         bool                `json:"tls"`
	Protocols   map[string][]string `json:"protocols"`
	Concurrency int                 `json:"concurrency"`
	Rounds      int                 `json:"rounds"`
	RoundSecs   float64             `json:"round_seconds"`
	Targets     []TargetSummary     `json:"targets"`
	Ratios      []RatioSummary      `json:"ratios"`
	// Redis is what Redis saw during the run, when the Redis-backed limits
	// were measured.
	Redis *RedisCheck `json:"redis,omitempty"`
	// NotMeasured says, one line each, which baselines were left out and
	// why (nginx not installed).
	NotMeasured []string `json:"not_measured,omitempty"`
	// Large is the large registry behind the -large targets (large.go).
	Large *LargeRegistry      `json:"large_registry,omitempty"`
	Raw   []plan.TargetResult `json:"raw"`
	// LargeRaw are the rounds of the large registry's own pass.
	LargeRaw []plan.TargetResult `json:"large_raw,omitempty"`
}

// RedisCheck shows that the Redis-backed gateway went to Redis: the calls
// of each command Redis ran while the load generator ran (its warm-up
// included) against the requests measured on that gateway.
type RedisCheck struct {
	Calls            map[string]int64 `json:"calls"`
	MeasuredRequests int              `json:"measured_requests"`
}

// TargetSummary is one target's medians over the rounds, with min–max.
type TargetSummary struct {
	Name     string `json:"name"`
	What     string `json:"what"`
	Requests int    `json:"requests"`
	Errors   int    `json:"errors"`
	RPS      Spread `json:"rps"`
	P50us    Spread `json:"p50_us"`
	P99us    Spread `json:"p99_us"`
	// CPUPerRequestUs is the CPU time of the processes serving the target
	// (the load generator reads it around each round) per successful
	// answer; 0 when not measured.
	CPUPerRequestUs float64 `json:"cpu_per_request_us,omitempty"`
}

// comparisons are the ratios reported: a target, its baseline in the same
// rounds, and the goal.
var comparisons = []struct{ target, base, goal string }{
	{tNoop, tNoopTCP, "(what TLS costs the ceiling)"},
	{tToken, tNoop, "≥ 0.5"},
	{tToken, tIssuer, "stretch ≥ 0.9"},
	{tProxy, tUpstream, ""},
	// The gateway's baselines (issue 22): the tuned Go proxy and nginx.
	{tGateway, tPooled, "≥ 1.0, added p50 ≤ 100 µs (issue 22: the tuned Go reverse proxy)"},
	{tGateway, tNginx, "≥ 0.7 (issue 22: nginx `proxy_pass` with upstream keep-alive); moonshot ≥ 1.0"},
	{tPooled, tNginx, "(the tuned Go proxy against nginx)"},
	{tGateway, tProxy, "(context: the plain proxy with the gateway's transport, a weaker baseline)"},
	{tSSEGw, tSSEProxy, "added p50 ≤ 1000 µs"},
	{tTokenDPoP, tIssuerDPoP, "(issue 23: against the minimal issuer that verifies one proof)"},
	{tTokenDPoP, tToken, "(what a proof costs the token endpoint)"},
	// The goal is against the plain proxy sent the same signed
	// requests: the load generator's signing shares the CPUs, and a
	// baseline without proofs would count it against the gateway.
	{tGatewayDPoP, tProxyDPoP, "≥ 0.8; report the added p50 (issue 23; the load generator signs a proof per request on both sides)"},
	{tGatewayDPoP, tProxy, "(the plain proxy without proofs: the load generator's signing counted against the gateway)"},
	{tGatewayDPoP, tGateway, "(what a proof costs the gateway)"},
	{tGatewayRedis, tProxy, "≥ 0.7; report the added p50 (issue 24)"},
	{tGatewayRedis, tGateway, "(local limits: what the Redis round trip costs)"},
	{tGatewayMCPCall, tProxyMCPCall, "≥ 0.9, added p50 ≤ 100 µs (issue 19)"},
	{tGatewayMCPNoRules, tProxyMCPCall, "(a route without rules pays nothing for them: compare with the gateway against the proxy)"},
	{tGatewayMCPCall, tGatewayMCPNoRules, "(what reading the body and 50 rules cost)"},
	{tGatewayMCPList, tProxyMCPList, "report the added latency (issue 19)"},
	{tGatewayLLMChat, tProxyLLMChat, "≥ 0.9, added p50 ≤ 150 µs (issue 20)"},
	{tGatewayLLMStream, tProxyLLMStream, "added time to first token (p50) ≤ 1000 µs (issue 20)"},
}

// selectTargets keeps the targets named in only and the baselines they are
// compared with; an empty only keeps all.
func selectTargets(ts []plan.Target, only []string) []plan.Target {
	if len(only) == 0 {
		return ts
	}
	keep := map[string]bool{}
	for _, n := range only {
		keep[n] = true
		for _, c := range comparisons {
			if c.target == n {
				keep[c.base] = true
			}
		}
	}
	return slices.DeleteFunc(ts, func(t plan.Target) bool { return !keep[t.Name] })
}

// RatioSummary compares a target with a baseline round by round.
type RatioSummary struct {
	Target   string `json:"target"`
	Baseline string `json:"baseline"`
	// Throughput is target rps / baseline rps per round; AddedP50us is
	// target p50 - baseline p50 per round.
	Throughput Spread `json:"throughput"`
	AddedP50us Spread `json:"added_p50_us"`
	// CPUCapacity is baseline CPU per request / target CPU per request:
	// the answers the target gives per CPU-second of its own processes
	// against the baseline's, independent of what else used the
	// machine; 0 when not measured for both.
	CPUCapacity float64 `json:"cpu_capacity,omitempty"`
	Goal        string  `json:"goal,omitempty"`
}

// Spread is a median with its min and max.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func spread(v []float64) Spread {
	if len(v) == 0 {
		return Spread{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Spread{Median: m, Min: s[0], Max: s[len(s)-1]}
}

// runHTTP starts a control plane and the manager, the baselines, and the
// load generator, and measures. With tlsOn the manager and the no-op,
// issuer and proxy baselines serve one throwaway certificate over https
// and the load generator trusts its CA; the upstream (the backend of the
// gateway and of the proxies) stays plain HTTP, so the SSE and
// upstream-direct targets, which compare against it, are left out.
func runHTTP(ctx context.Context, o *options, tlsOn bool) (*HTTPResult, error) {
	name, scheme := "http", "http://"
	var files *pki.Files
	var serveTLS, loadgenArgs []string
	if tlsOn {
		name, scheme = "https", "https://"
		dir, err := os.MkdirTemp(o.workDir, "pki-")
		if err != nil {
			return nil, err
		}
		f, err := pki.Write(dir, time.Now())
		if err != nil {
			return nil, fmt.Errorf("write the TLS round's CA and certificate: %w", err)
		}
		files = &f
		serveTLS = []string{"-tls-cert", f.Cert, "-tls-key", f.Key}
		loadgenArgs = []string{"-ca-file", f.CA}
	}
	say("HTTP round: %s", name)
	// Both managers of the run elect a leader, as the deployment's do: the
	// controllers run on one of them.
	e, err := startEnv(ctx, o, name, files, "--leader-elect")
	if err != nil {
		return nil, err
	}
	defer e.stop()
	cfg := rest.CopyConfig(e.cluster.Config)
	cfg.QPS = -1
	c, err := client.New(cfg, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		return nil, err
	}
	addrs, err := freeAddrs(9)
	if err != nil {
		return nil, err
	}
	upstreamURL := "http://" + addrs[0]
	// With TLS on, a second no-op server in clear, measured in the same
	// rounds: what TLS itself costs a Go server per request here.
	noopClearURL := "http://" + addrs[5]
	noopURL, issuerURL, proxyURL, pooledURL := scheme+addrs[1], scheme+addrs[2], scheme+addrs[3], scheme+addrs[4]
	issuerDPoPURL, redisAddr, nginxURL := scheme+addrs[6], addrs[7], scheme+addrs[8]
	var procs []*process
	defer func() {
		for _, p := range procs {
			p.stop(5 * time.Second)
		}
	}()
	// servers are the processes serving each address, whose CPU time the
	// load generator reads around each round.
	servers := serversOf(e)
	start := func(role, addr string, extra ...string) error {
		p, err := startProcess(e.dir, role+"-"+addr[strings.LastIndexByte(addr, ':')+1:], o.baselines, append([]string{"-role", role, "-addr", addr}, extra...)...)
		if err != nil {
			return err
		}
		procs = append(procs, p)
		servers[addr] = []int{p.pid()}
		return nil
	}
	if err := start("upstream", addrs[0]); err != nil {
		return nil, err
	}
	if err := start("noop", addrs[1], serveTLS...); err != nil {
		return nil, err
	}
	if tlsOn {
		if err := start("noop", addrs[5]); err != nil {
			return nil, err
		}
		if err := waitHTTP(ctx, e.client, nil, noopClearURL+"/", 200, 10*time.Second); err != nil {
			return nil, err
		}
	}
	proxyArgs := append([]string{"-target", upstreamURL, "-prefix", routePrefix, "-backend-path", backendPath}, serveTLS...)
	if err := start("proxy", addrs[3], proxyArgs...); err != nil {
		return nil, err
	}
	if err := start("proxy", addrs[4], append(proxyArgs, "-tuned")...); err != nil {
		return nil, err
	}
	nginxUp, nginxMissing := false, ""
	if bin := nginxBinary(o.nginx); bin == "" {
		nginxMissing = fmt.Sprintf("`%s` NOT measured: no nginx (-nginx %q; hack/install-nginx.sh installs it), so the gateway has no ratio to nginx in this run", tNginx, o.nginx)
		say("%s", nginxMissing)
	} else {
		var cert, key string
		if files != nil {
			cert, key = files.Cert, files.Key
		}
		np, err := startNginx(e.dir, bin, addrs[8], upstreamURL, cert, key)
		if err != nil {
			return nil, err
		}
		procs = append(procs, np)
		if err := waitHTTP(ctx, e.client, np, nginxURL+"/", 200, 10*time.Second); err != nil {
			return nil, fmt.Errorf("nginx (%s): %w", bin, err)
		}
		servers[addrs[8]] = withChildren(np.pid())
		nginxUp = true
	}

	id, secret, err := setUpClientAndRoute(ctx, c, upstreamURL)
	if err != nil {
		return nil, err
	}
	// The issuer baseline accepts the same client; its secret goes through
	// the environment.
	os.Setenv("BASELINE_CLIENT_SECRET", secret)
	// It holds the client's scopes, and intersects the requested ones with
	// them as the token endpoint does.
	issuerArgs := []string{"-client-id", id, "-allowed-scopes", httpScope}
	err = start("issuer", addrs[2], slices.Concat(issuerArgs, []string{"-issuer", issuerURL}, serveTLS)...)
	if err == nil {
		err = start("issuer", addrs[6], slices.Concat(issuerArgs, []string{"-issuer", issuerDPoPURL, "-dpop-htu", issuerDPoPURL + "/oauth/token"}, serveTLS)...)
	}
	os.Unsetenv("BASELINE_CLIENT_SECRET")
	if err != nil {
		return nil, err
	}
	for _, u := range []string{upstreamURL + "/", noopURL + "/", proxyURL + "/", pooledURL + "/"} {
		if err := waitHTTP(ctx, e.client, nil, u, 200, 10*time.Second); err != nil {
			return nil, err
		}
	}
	for _, u := range []string{issuerURL + "/", issuerDPoPURL + "/"} {
		if err := waitHTTP(ctx, e.client, nil, u, 405, 10*time.Second); err != nil {
			return nil, err
		}
	}

	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {httpScope}}.Encode()
	tokenHeaders := map[string]string{"Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"}
	token, err := fetchToken(ctx, e.client, e.issuer+"/oauth/token", tokenHeaders, form)
	if err != nil {
		return nil, err
	}
	bearer := map[string]string{"Authorization": "Bearer " + token}
	if err := waitGateway(ctx, e.client, e.gatewayURL+routePrefix+"/items", token); err != nil {
		return nil, err
	}
	var dpopTargets, mcpTargets, llmTargets, redisTarget []plan.Target
	if o.features.dpop {
		if dpopTargets, err = setUpDPoP(ctx, e, tokenHeaders, form, proxyURL, issuerDPoPURL); err != nil {
			return nil, err
		}
	} else {
		say("The manager has no DPoP (--dpop-require-nonce): the DPoP targets are not measured")
	}
	if o.features.itemRules {
		if mcpTargets, err = setUpMCP(ctx, c, e, upstreamURL, proxyURL, token); err != nil {
			return nil, err
		}
	} else {
		say("The manager has no item rules (--gateway-max-inspect-bytes): the MCP targets are not measured")
	}
	if o.features.llm {
		if llmTargets, err = setUpLLM(ctx, c, e, upstreamURL, proxyURL); err != nil {
			return nil, err
		}
	} else {
		say("The manager has no LLM routes: the LLM targets are not measured")
	}
	switch bin := redisBinary(o.redisServer); {
	case !o.features.redisStore:
		say("The manager has no --rate-limit-store: the Redis-backed limits are not measured")
	case bin == "":
		say("No redis-server (-redis-server %q): the Redis-backed limits are not measured", o.redisServer)
	default:
		rp, err := startRedis(ctx, e.dir, bin, redisAddr)
		if err != nil {
			return nil, err
		}
		procs = append(procs, rp)
		rep, err := e.startReplica(ctx, o, "manager-redis", "--rate-limit-store=redis://"+redisAddr, "--rate-limit-failure-mode=closed")
		if err != nil {
			return nil, err
		}
		defer rep.manager.stop(20 * time.Second)
		if err := waitGateway(ctx, e.client, rep.gatewayURL+routePrefix+"/items", token); err != nil {
			return nil, fmt.Errorf("the Redis-backed replica: %w", err)
		}
		redisTarget = []plan.Target{{Name: tGatewayRedis, Method: http.MethodGet, URL: rep.gatewayURL + routePrefix + "/items", Headers: bearer}}
	}

	var largeTargets []plan.Target
	var large *LargeRegistry
	if wantLarge(o, tlsOn) {
		var stopLarge func()
		if largeTargets, large, stopLarge, err = setUpLarge(ctx, o, files, upstreamURL); err != nil {
			return nil, fmt.Errorf("large registry: %w", err)
		}
		defer stopLarge()
	}

	p := plan.Plan{
		Concurrency: o.concurrency, Rounds: o.rounds, Round: o.round, Warmup: o.warmup, MaxRequests: o.maxRequests,
		Targets: []plan.Target{
			{Name: tNoop, Method: http.MethodGet, URL: noopURL + "/"},
			{Name: tIssuer, Method: http.MethodPost, URL: issuerURL + "/oauth/token", Headers: tokenHeaders, Body: form},
			{Name: tToken, Method: http.MethodPost, URL: e.issuer + "/oauth/token", Headers: tokenHeaders, Body: form},
			{Name: tUpstream, Method: http.MethodGet, URL: upstreamURL + backendPath + "/items", Headers: bearer},
			{Name: tProxy, Method: http.MethodGet, URL: proxyURL + routePrefix + "/items", Headers: bearer},
			{Name: tPooled, Method: http.MethodGet, URL: pooledURL + routePrefix + "/items", Headers: bearer},
			{Name: tGateway, Method: http.MethodGet, URL: e.gatewayURL + routePrefix + "/items", Headers: bearer},
			{Name: tSSEProxy, Method: http.MethodGet, URL: upstreamURL + backendPath + "/sse", Headers: bearer, FirstByte: true, Concurrency: 1},
			{Name: tSSEGw, Method: http.MethodGet, URL: e.gatewayURL + routePrefix + "/sse", Headers: bearer, FirstByte: true, Concurrency: 1},
		},
	}
	var nginxTarget []plan.Target
	if nginxUp {
		nginxTarget = []plan.Target{{Name: tNginx, Method: http.MethodGet, URL: nginxURL + routePrefix + "/items", Headers: bearer}}
	}
	// nginx right after the tuned proxy, before the gateway.
	p.Targets = slices.Insert(p.Targets, slices.IndexFunc(p.Targets, func(t plan.Target) bool { return t.Name == tGateway }), nginxTarget...)
	p.Targets = append(append(append(append(p.Targets, dpopTargets...), redisTarget...), mcpTargets...), llmTargets...)
	p.Targets = append(p.Targets, largeTargets...)
	if tlsOn {
		// Only targets whose baseline serves TLS too, and the no-op in
		// clear next to the no-op over TLS.
		p.Targets = slices.DeleteFunc(p.Targets, func(t plan.Target) bool {
			return t.Name == tUpstream || t.Name == tSSEProxy || t.Name == tSSEGw
		})
		p.Targets = slices.Insert(p.Targets, 1, plan.Target{Name: tNoopTCP, Method: http.MethodGet, URL: noopClearURL + "/"})
	}
	p.Targets = selectTargets(p.Targets, o.targets)
	if large != nil {
		for _, u := range large.urls {
			servers[hostOf(u)] = []int{large.pid}
		}
	}
	for i, t := range p.Targets {
		p.Targets[i].PIDs = servers[hostOf(t.URL)]
	}
	// The large registry's targets run in a pass of their own, after.
	largeTargets = slices.DeleteFunc(slices.Clone(p.Targets), func(t plan.Target) bool { return largeBase[t.Name] == "" })
	p.Targets = slices.DeleteFunc(p.Targets, func(t plan.Target) bool { return largeBase[t.Name] != "" })
	if !slices.ContainsFunc(p.Targets, func(t plan.Target) bool { return t.Name == tGatewayRedis }) {
		redisTarget = nil
	}
	if o.profileDir != "" {
		stopProfiles, err := profile(ctx, o, e.pprofURL, filepath.Join(o.profileDir, name), o.rounds, len(p.Targets))
		if err != nil {
			return nil, err
		}
		defer stopProfiles()
	}
	var redisBefore map[string]int64
	if redisTarget != nil {
		if redisBefore, err = redisCalls(redisAddr); err != nil {
			return nil, fmt.Errorf("ask Redis for its command count: %w", err)
		}
	}
	raw, err := runLoadgen(ctx, o, e.dir, p, loadgenArgs...)
	if err != nil {
		return nil, err
	}
	h := summarizeHTTP(o, raw, tlsOn)
	h.Large = large
	if large != nil {
		if err := measureLarge(ctx, o, e.dir, p, largeTargets, h, loadgenArgs); err != nil {
			return nil, err
		}
	}
	if nginxMissing != "" && slices.ContainsFunc(p.Targets, func(t plan.Target) bool { return t.Name == tGateway }) {
		h.NotMeasured = append(h.NotMeasured, nginxMissing)
	}
	if redisTarget != nil {
		after, err := redisCalls(redisAddr)
		if err != nil {
			return nil, fmt.Errorf("ask Redis for its command count: %w", err)
		}
		h.Redis = &RedisCheck{Calls: map[string]int64{}}
		for cmd, n := range after {
			// INFO itself is the harness's.
			if d := n - redisBefore[cmd]; d > 0 && cmd != "info" {
				h.Redis.Calls[cmd] = d
			}
		}
		for _, t := range h.Targets {
			if t.Name == tGatewayRedis {
				h.Redis.MeasuredRequests = t.Requests
			}
		}
	}
	return h, nil
}

// setUpClientAndRoute creates the measured OAuthClient and GatewayRoute,
// waits until both are Ready, and returns the client's credentials.
func setUpClientAndRoute(ctx context.Context, c client.Client, upstreamURL string) (id, secret string, err error) {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: httpNamespace}}); err != nil {
		return "", "", fmt.Errorf("create namespace: %w", err)
	}
	rl := &scopegatev1alpha1.RateLimit{RequestsPerSecond: highRate, Burst: highBurst}
	oc := &scopegatev1alpha1.OAuthClient{
		ObjectMeta: metav1.ObjectMeta{Name: httpClient, Namespace: httpNamespace},
		Spec: scopegatev1alpha1.OAuthClientSpec{
			Scopes:    []scopegatev1alpha1.Scope{httpScope},
			Audiences: []scopegatev1alpha1.Audience{httpAudience},
			RateLimit: rl,
		},
	}
	gr := &scopegatev1alpha1.GatewayRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "echo", Namespace: httpNamespace},
		Spec: scopegatev1alpha1.GatewayRouteSpec{
			PathPrefix:     routePrefix,
			Backend:        scopegatev1alpha1.Backend{URL: upstreamURL, Path: backendPath},
			RequiredScopes: []scopegatev1alpha1.Scope{httpScope},
			Audiences:      []scopegatev1alpha1.Audience{httpAudience},
			RateLimit:      rl,
		},
	}
	for _, obj := range []client.Object{oc, gr} {
		if err := c.Create(ctx, obj); err != nil {
			return "", "", fmt.Errorf("create %s: %w", obj.GetName(), err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var o scopegatev1alpha1.OAuthClient
		var g scopegatev1alpha1.GatewayRoute
		if err := c.Get(ctx, client.ObjectKeyFromObject(oc), &o); err != nil {
			return "", "", err
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(gr), &g); err != nil {
			return "", "", err
		}
		if meta.IsStatusConditionTrue(o.Status.Conditions, scopegatev1alpha1.ConditionReady) && meta.IsStatusConditionTrue(g.Status.Conditions, scopegatev1alpha1.ConditionReady) {
			break
		}
		if time.Now().After(deadline) {
			return "", "", fmt.Errorf("OAuthClient or GatewayRoute not Ready within 60s: %v / %v", o.Status.Conditions, g.Status.Conditions)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var s corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: httpNamespace, Name: oc.CredentialsSecret()}, &s); err != nil {
		return "", "", fmt.Errorf("read credentials Secret: %w", err)
	}
	return string(s.Data["client_id"]), string(s.Data["client_secret"]), nil
}

func fetchToken(ctx context.Context, hc *http.Client, u string, headers map[string]string, form string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form))
	if err != nil {
		return "", err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	defer res.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return "", fmt.Errorf("token request: %s: %s", res.Status, b)
	}
	if err := json.NewDecoder(res.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("token response without access_token: %v", err)
	}
	return tr.AccessToken, nil
}

// waitGateway waits until the gateway's table has the route.
func waitGateway(ctx context.Context, hc *http.Client, u, token string) error {
	deadline := time.Now().Add(30 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			last = res.Status
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("gateway does not route %s within 30s: %s", u, last)
}

func runLoadgen(ctx context.Context, o *options, dir string, p plan.Plan, args ...string) ([]plan.TargetResult, error) {
	planPath, outPath := filepath.Join(dir, "plan.json"), filepath.Join(dir, "result.json")
	if err := writeJSON(planPath, p); err != nil {
		return nil, err
	}
	say("HTTP: %d targets, %d rounds of %s, %d workers", len(p.Targets), p.Rounds, p.Round, p.Concurrency)
	lg, err := startProcess(dir, "loadgen", o.loadgen, append([]string{"-plan", planPath, "-out", outPath}, args...)...)
	if err != nil {
		return nil, err
	}
	select {
	case <-lg.done:
	case <-ctx.Done():
		lg.stop(5 * time.Second)
		return nil, ctx.Err()
	}
	if lg.err != nil {
		b, _ := os.ReadFile(lg.logPath)
		return nil, fmt.Errorf("load generator: %v: %s", lg.err, b)
	}
	raw, err := os.ReadFile(outPath)
	if err != nil {
		return nil, err
	}
	var res plan.Result
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("decode load generator result: %w", err)
	}
	return res.Targets, nil
}

var targetWhat = map[string]string{
	tNoop:     "no-op Go HTTP handler (ceiling)",
	tNoopTCP:  "the same no-op handler in clear (HTTP/1.1 without TLS), same rounds",
	tIssuer:   "minimal stdlib ES256 issuer doing the token endpoint's checks: form, Basic with a SHA-256 compare, scope intersection, sign",
	tToken:    "scopegate `POST /oauth/token` (client_secret_basic, ES256)",
	tUpstream: "upstream direct",
	tProxy:    "plain `httputil.ReverseProxy`",
	tPooled:   "tuned Go reverse proxy: `httputil.ReverseProxy` with a `BufferPool`, a transport with 256 idle connections per host, HTTP/1.1 to the upstream",
	tNginx:    "nginx `proxy_pass` (distribution package, `worker_processes auto`, upstream `keepalive 64`, HTTP/1.1 to the upstream, no auth)",
	tGateway:  "scopegate gateway (JWT, scope, audience, identity headers, rate limits above the load)",
	tSSEProxy: "SSE upstream direct: time to first event, 1 worker",
	tSSEGw:    "SSE through the scopegate gateway: time to first event, 1 worker",

	tIssuerDPoP:        "the minimal ES256 issuer verifying one ES256 DPoP proof and binding the token (ceiling with a proof)",
	tTokenDPoP:         "scopegate `POST /oauth/token` with an ES256 DPoP proof (a DPoP-bound token)",
	tProxyDPoP:         "plain `httputil.ReverseProxy` sent what the DPoP gateway is sent (the load generator signs a proof per request; the proxy forwards it unchecked)",
	tGatewayDPoP:       "scopegate gateway with a DPoP-bound token and a fresh ES256 proof per request (signature, htm, htu, ath, iat, replay cache)",
	tProxyMCPCall:      "plain `httputil.ReverseProxy`, a JSON-RPC `tools/call` of 1 KiB to the upstream's MCP server",
	tGatewayMCPNoRules: "scopegate gateway, the same `tools/call` through an MCP route without item rules (its body is not read)",
	tGatewayMCPCall:    "scopegate gateway, the same `tools/call` through an MCP route with 50 tool rules (body read and checked, the last rule decides)",
	tProxyMCPList:      "plain `httputil.ReverseProxy`, `tools/list` answered with 200 tools (36 KiB)",
	tGatewayMCPList:    "scopegate gateway, the same `tools/list` through the route with 50 rules: the answer filtered to the 100 tools the client may use",
	tProxyLLMChat:      "plain `httputil.ReverseProxy`, a chat completion (0.5 KiB, `max_tokens` 16) to the stand-in model provider (`internal/llm/llmtest`)",
	tGatewayLLMChat:    "scopegate gateway, the same chat completion through an LLM route: model routed and allowed, the provider's key from a Secret instead of the token, token quota checked and charged, usage metered",
	tProxyLLMStream:    "plain `httputil.ReverseProxy`, the same chat completion streamed: time to the first byte of the stream, 1 worker",
	tGatewayLLMStream:  "scopegate gateway, the same streamed chat completion through the LLM route: time to the first byte of the stream, 1 worker",
	tGatewayRedis:      "scopegate gateway, a second replica with `--rate-limit-store=redis://` (Redis on loopback, `--rate-limit-failure-mode=closed`): one Redis round trip per request",
}

func summarizeHTTP(o *options, raw []plan.TargetResult, tlsOn bool) *HTTPResult {
	h := &HTTPResult{TLS: tlsOn, Protocols: map[string][]string{}, Concurrency: o.concurrency, Rounds: o.rounds, RoundSecs: o.round.Seconds(), Raw: raw}
	by := map[string]plan.TargetResult{}
	for _, t := range raw {
		by[t.Name] = t
		h.Protocols[t.Proto] = append(h.Protocols[t.Proto], t.Name)
		s := TargetSummary{Name: t.Name, What: targetWhat[t.Name]}
		var rps, p50, p99 []float64
		for _, r := range t.Rounds {
			s.Requests += r.Requests
			s.Errors += r.Errors
			rps, p50, p99 = append(rps, r.RPS), append(p50, r.P50us), append(p99, r.P99us)
		}
		s.CPUPerRequestUs = cpuPerRequest(t)
		s.RPS, s.P50us, s.P99us = spread(rps), spread(p50), spread(p99)
		h.Targets = append(h.Targets, s)
	}
	for _, c := range comparisons {
		t, okT := by[c.target]
		b, okB := by[c.base]
		if !okT || !okB {
			continue
		}
		var thr, add []float64
		for i := range min(len(t.Rounds), len(b.Rounds)) {
			if b.Rounds[i].RPS > 0 {
				thr = append(thr, t.Rounds[i].RPS/b.Rounds[i].RPS)
			}
			add = append(add, t.Rounds[i].P50us-b.Rounds[i].P50us)
		}
		h.Ratios = append(h.Ratios, RatioSummary{Target: c.target, Baseline: c.base, Throughput: spread(thr), AddedP50us: spread(add), Goal: c.goal, CPUCapacity: capacity(cpuPerRequest(t), cpuPerRequest(b))})
	}
	return h
}

func (h *HTTPResult) markdown(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if h.TLS {
		p("### Token endpoint and gateway with TLS\n\n")
		p("The manager with `--tls-mode=files` and every baseline but the upstream serving the same throwaway certificate (ECDSA P-256, its own CA), https URLs; the backend of the gateway and the proxies stays plain HTTP. ")
	} else {
		p("### Token endpoint and gateway\n\n")
		p("Plain HTTP (`--tls-mode=off`). ")
	}
	p("%d keep-alive workers of the separate load generator, %d alternating rounds of %.0f s per target; medians over the rounds with min–max. Every target is its own process.", h.Concurrency, h.Rounds, h.RoundSecs)
	protos := make([]string, 0, len(h.Protocols))
	for proto := range h.Protocols {
		protos = append(protos, proto)
	}
	slices.Sort(protos)
	for _, proto := range protos {
		if proto == "" {
			proto = "no successful answer"
		}
		p(" Answers of %s came over %s.", "`"+strings.Join(h.Protocols[proto], "`, `")+"`", proto)
	}
	p("\n\n")
	p("| target | what | req/s | p50 | p99 | requests | errors | serving CPU per answer |\n|---|---|---|---|---|---|---|---|\n")
	for _, t := range h.Targets {
		p("| `%s` | %s | %.0f (%.0f–%.0f) | %.0f µs (%.0f–%.0f) | %.0f µs | %d | %d | %s |\n",
			t.Name, t.What, t.RPS.Median, t.RPS.Min, t.RPS.Max, t.P50us.Median, t.P50us.Min, t.P50us.Max, t.P99us.Median, t.Requests, t.Errors, cpuCell("%.1f µs", t.CPUPerRequestUs))
	}
	p("\n| target | baseline | throughput ratio | added p50 | answers per serving CPU-second, ratio | goal |\n|---|---|---|---|---|---|\n")
	for _, r := range h.Ratios {
		p("| `%s` | `%s` | **%.2f×** (%.2f–%.2f) | %+.0f µs (%+.0f–%+.0f) | %s | %s |\n",
			r.Target, r.Baseline, r.Throughput.Median, r.Throughput.Min, r.Throughput.Max, r.AddedP50us.Median, r.AddedP50us.Min, r.AddedP50us.Max, cpuCell("%.2f×", r.CPUCapacity), r.Goal)
	}
	for _, n := range h.NotMeasured {
		p("\n%s.\n", n)
	}
	if h.Large != nil {
		h.Large.markdown(b)
	}
	if c := h.Redis; c != nil {
		calls := map[string]float64{}
		for cmd, n := range c.Calls {
			calls[cmd] = float64(n)
		}
		p("\nRedis ran %s while the load generator ran (INFO commandstats: the rate-limit script's own calls included, the warm-up too), for %d measured requests of `%s`.\n", counts(calls), c.MeasuredRequests, tGatewayRedis)
	}
	p("\n")
}

// cpuPerRequest is the target's serving CPU time per successful answer over
// its rounds, in µs; 0 when not measured.
func cpuPerRequest(t plan.TargetResult) float64 {
	if len(t.CPUSeconds) != len(t.Rounds) || len(t.Rounds) == 0 {
		return 0
	}
	var cpu float64
	ok := 0
	for i, r := range t.Rounds {
		cpu += t.CPUSeconds[i]
		ok += r.Requests - r.Errors
	}
	if ok == 0 || cpu <= 0 {
		return 0
	}
	return cpu / float64(ok) * 1e6
}

// capacity is base / target CPU per request; 0 unless both are known.
func capacity(target, base float64) float64 {
	if target <= 0 || base <= 0 {
		return 0
	}
	return base / target
}

// cpuCell formats a CPU figure for a table; "–" when not measured.
func cpuCell(format string, v float64) string {
	if v <= 0 {
		return "–"
	}
	return fmt.Sprintf(format, v)
}
