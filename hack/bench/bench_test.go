package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/hack/bench/pki"
	"github.com/scopegate/scopegate/hack/bench/plan"
)

func TestSpreadIsTheMedianWithItsExtremes(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want Spread
	}{
		{"an odd count takes the middle value", []float64{3, 1, 2}, Spread{Median: 2, Min: 1, Max: 3}},
		{"an even count averages the two middle values", []float64{4, 1, 3, 2}, Spread{Median: 2.5, Min: 1, Max: 4}},
		{"no rounds give zeros", nil, Spread{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.in...)
			if got := spread(tc.in); got != tc.want {
				t.Fatalf("spread(%v) = %+v, want %+v", tc.in, got, tc.want)
			}
			for i := range in {
				if in[i] != tc.in[i] {
					t.Fatalf("spread reordered its input: %v", tc.in)
				}
			}
		})
	}
}

func TestMetricsAreSummedByLabelAndDiffed(t *testing.T) {
	text := `# HELP rest_client_requests_total Number of HTTP requests.
# TYPE rest_client_requests_total counter
rest_client_requests_total{code="200",host="127.0.0.1:1",method="GET"} 10
rest_client_requests_total{code="404",host="127.0.0.1:1",method="GET"} 2
rest_client_requests_total{code="201",host="127.0.0.1:1",method="POST"} 5
controller_runtime_reconcile_total{controller="oauthclient",result="success"} 7
controller_runtime_reconcile_total{controller="gatewayroute-status",result="success"} 3
process_cpu_seconds_total 1.5
`
	samples, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]float64{"GET": 4, "POST": 5}
	byVerb := sumBy(samples, "rest_client_requests_total", "method", nil)
	if byVerb["GET"] != 12 || byVerb["POST"] != 5 {
		t.Fatalf("by verb %v, want GET 12 and POST 5", byVerb)
	}
	if d := delta(before, byVerb); len(d) != 1 || d["GET"] != 8 {
		t.Fatalf("delta %v, want only GET 8 (unchanged verbs are left out)", d)
	}
	if got := sumBy(samples, "controller_runtime_reconcile_total", "", map[string]string{"controller": "oauthclient"})[""]; got != 7 {
		t.Fatalf("oauthclient reconciles %v, want 7", got)
	}
	if got := sumBy(samples, "process_cpu_seconds_total", "", nil)[""]; got != 1.5 {
		t.Fatalf("unlabelled sample %v, want 1.5", got)
	}
}

func TestTheReportReplacesOnlyTheTextBetweenItsMarkers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := spliceFile(path, "first\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	hand := string(b) + "\n## Written by hand\n"
	if err := os.WriteFile(path, []byte(hand), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := spliceFile(path, "second\n"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	got := string(b)
	if strings.Contains(got, "first") || !strings.Contains(got, beginMarker+"second\n"+endMarker) || !strings.HasSuffix(got, "## Written by hand\n") {
		t.Fatalf("after the second run:\n%s", got)
	}
}

func TestARatioIsLeftOutWhenItsBaselineWasNotMeasured(t *testing.T) {
	round := func(rps, p50 float64) []plan.Round { return []plan.Round{{RPS: rps, P50us: p50}} }
	tls := "HTTP/1.1, TLS 1.3, TLS_AES_128_GCM_SHA256, X25519MLKEM768"
	raw := []plan.TargetResult{
		{Name: tProxy, Proto: tls, Rounds: round(100, 1000)},
		{Name: tGateway, Proto: tls, Rounds: round(110, 950)},
		{Name: tSSEGw, Proto: tls, Rounds: round(10, 300)},
	}
	h := summarizeHTTP(&options{concurrency: 16, rounds: 1, round: time.Second}, raw, true)
	if len(h.Ratios) != 1 {
		t.Fatalf("ratios %+v, want only the gateway against the plain proxy", h.Ratios)
	}
	r := h.Ratios[0]
	if r.Target != tGateway || r.Baseline != tProxy || r.Throughput.Median != 1.1 || r.AddedP50us.Median != -50 {
		t.Fatalf("ratio %+v, want 1.1× and -50 µs", r)
	}
	if got := h.Protocols[tls]; len(got) != 3 {
		t.Fatalf("protocols %v, want all three targets under %q", h.Protocols, tls)
	}
}

func TestTheDPoPAndRedisTargetsAreComparedWithTheirBaselinesAndGoals(t *testing.T) {
	round := func(rps, p50 float64) []plan.Round { return []plan.Round{{RPS: rps, P50us: p50, Requests: int(rps)}} }
	raw := []plan.TargetResult{
		{Name: tProxy, Rounds: round(1000, 1000)},
		{Name: tGateway, Rounds: round(1000, 1000)},
		{Name: tGatewayDPoP, Rounds: round(800, 1200)},
		{Name: tProxyDPoP, Rounds: round(900, 1100)},
		{Name: tGatewayRedis, Rounds: round(700, 1500)},
		{Name: tIssuerDPoP, Rounds: round(400, 2000)},
		{Name: tTokenDPoP, Rounds: round(300, 2500)},
		{Name: tProxyMCPCall, Rounds: round(1000, 1000)},
		{Name: tGatewayMCPCall, Rounds: round(900, 1050)},
	}
	h := summarizeHTTP(&options{concurrency: 16, rounds: 1, round: time.Second}, raw, false)
	h.Redis = &RedisCheck{Calls: map[string]int64{"evalsha": 701}, MeasuredRequests: 700}
	want := map[[2]string]struct {
		thr, added float64
		goal       string
	}{
		{tGatewayDPoP, tProxyDPoP}:       {800.0 / 900, 100, "≥ 0.8"},
		{tGatewayDPoP, tProxy}:           {0.8, 200, "(the plain proxy without proofs"},
		{tGatewayDPoP, tGateway}:         {0.8, 200, ""},
		{tGatewayRedis, tProxy}:          {0.7, 500, "≥ 0.7"},
		{tGatewayRedis, tGateway}:        {0.7, 500, ""},
		{tTokenDPoP, tIssuerDPoP}:        {0.75, 500, ""},
		{tGatewayMCPCall, tProxyMCPCall}: {0.9, 50, "≥ 0.9, added p50 ≤ 100 µs"},
	}
	got := map[[2]string]RatioSummary{}
	for _, r := range h.Ratios {
		got[[2]string{r.Target, r.Baseline}] = r
	}
	for k, w := range want {
		r, ok := got[k]
		if !ok {
			t.Errorf("no ratio of %s to %s", k[0], k[1])
			continue
		}
		if r.Throughput.Median != w.thr || r.AddedP50us.Median != w.added || !strings.HasPrefix(r.Goal, w.goal) {
			t.Errorf("%s against %s: %+v, want %.2f×, %+.0f µs, goal starting %q", k[0], k[1], r, w.thr, w.added, w.goal)
		}
	}
	var b strings.Builder
	h.markdown(&b)
	for _, s := range []string{"| `" + tGatewayRedis + "` | `" + tProxy + "` | **0.70×**", "Redis ran evalsha 701", "700 measured requests of `" + tGatewayRedis + "`"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("the report lacks %q:\n%s", s, b.String())
		}
	}
}

func TestRedisAnswersAndCommandStatsAreRead(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		wantErr        bool
	}{
		{"a simple string", "+PONG\r\n", "PONG", false},
		{"a bulk string", "$5\r\nab\ncd\r\n", "ab\ncd", false},
		{"an error", "-ERR unknown command\r\n", "", true},
		{"a null bulk string", "$-1\r\n", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readRESP(bufio.NewReader(strings.NewReader(tc.in)))
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Fatalf("readRESP(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
	stats := "# Commandstats\r\ncmdstat_evalsha:calls=3470,usec=90000,usec_per_call=25.9,rejected_calls=0,failed_calls=0\r\ncmdstat_get:calls=6940,usec=1\r\n"
	calls, err := parseCommandStats(stats)
	if err != nil || len(calls) != 2 || calls["evalsha"] != 3470 || calls["get"] != 6940 {
		t.Fatalf("calls %v, %v; want evalsha 3470 and get 6940", calls, err)
	}
}

func TestARedisServerIsStartedOnLoopbackAndCountsCommands(t *testing.T) {
	bin := redisBinary("redis-server")
	if bin == "" {
		t.Fatal("redis-server is not installed (apt-get install -y redis-server; .ci/run does)")
	}
	addrs, err := freeAddrs(1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := startRedis(context.Background(), t.TempDir(), bin, addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop(5 * time.Second)
	for range 3 {
		if got, err := redisCommand(addrs[0], "PING"); err != nil || got != "PONG" {
			t.Fatalf("PING: %q, %v", got, err)
		}
	}
	calls, err := redisCalls(addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	// The three PINGs and startRedis's own.
	if calls["ping"] != 4 {
		t.Fatalf("calls %v, want ping 4", calls)
	}
}

func TestTheMCPRouteHasFiftyToolRulesAndTheRouteWithoutRulesNone(t *testing.T) {
	with := mcpRoute("mcp-rules", mcpRulesPrefix, "http://127.0.0.1:1", true)
	without := mcpRoute("mcp-norules", mcpNoRulesPrefix, "http://127.0.0.1:1", false)
	if with.Spec.MCP == nil || len(with.Spec.MCP.Rules) != 50 || without.Spec.MCP != nil {
		t.Fatalf("rules: %+v and %+v, want 50 and none", with.Spec.MCP, without.Spec.MCP)
	}
	for _, gr := range []*scopegatev1alpha1.GatewayRoute{with, without} {
		if gr.Spec.Protocol != scopegatev1alpha1.ProtocolMCP || gr.Spec.Backend.Path != mcpBackendPath || gr.Spec.RateLimit == nil {
			t.Errorf("route %s: %+v, want an MCP route to %s with the high rate limit", gr.Name, gr.Spec, mcpBackendPath)
		}
	}
	last := with.Spec.MCP.Rules[49]
	if len(last.Tools) != 1 || last.Tools[0] != "bench_49_*" || len(last.RequiredScopes) != 1 || last.RequiredScopes[0] != httpScope {
		t.Errorf("the last rule %+v must open the called tool to the client's scope", last)
	}
	if first := with.Spec.MCP.Rules[0]; first.RequiredScopes[0] != mcpWriteScope {
		t.Errorf("the first rule %+v must require a scope the client lacks", first)
	}
}

func TestAnOlderManagerIsMeasuredWithoutTheFeaturesItLacks(t *testing.T) {
	for _, tc := range []struct {
		name string
		help string
		want managerFeatures
	}{
		{"a build before DPoP, Redis and item rules", "  -issuer string\n  -tls-mode string\n", managerFeatures{}},
		{"a build with all three", "  -dpop-require-nonce\n  -gateway-max-inspect-bytes int\n  -rate-limit-store string\n", managerFeatures{dpop: true, redisStore: true, itemRules: true}},
		{"a build with Redis only", "  -rate-limit-store string\n", managerFeatures{redisStore: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := featuresOf(tc.help); got != tc.want {
				t.Fatalf("features %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSelectedTargetsKeepTheirBaselines(t *testing.T) {
	var all []plan.Target
	for _, n := range []string{tNoop, tToken, tProxy, tGateway, tProxyDPoP, tGatewayDPoP, tGatewayRedis, tProxyMCPCall, tGatewayMCPCall} {
		all = append(all, plan.Target{Name: n})
	}
	var got []string
	for _, tg := range selectTargets(slices.Clone(all), []string{tGatewayDPoP, tGatewayMCPCall}) {
		got = append(got, tg.Name)
	}
	if want := []string{tProxy, tGateway, tProxyDPoP, tGatewayDPoP, tProxyMCPCall, tGatewayMCPCall}; !slices.Equal(got, want) {
		t.Errorf("selected %v, want %v", got, want)
	}
	if got := selectTargets(slices.Clone(all), nil); len(got) != len(all) {
		t.Errorf("no selection kept %d of %d targets", len(got), len(all))
	}
}

func TestTheLLMTargetsAreComparedWithThePlainProxyToTheSameProvider(t *testing.T) {
	round := func(rps, p50 float64) []plan.Round { return []plan.Round{{RPS: rps, P50us: p50, Requests: int(rps)}} }
	raw := []plan.TargetResult{
		{Name: tProxy, Rounds: round(1000, 1000)},
		{Name: tProxyLLMChat, Rounds: round(1000, 1000)},
		{Name: tGatewayLLMChat, Rounds: round(900, 1120)},
		{Name: tProxyLLMStream, Rounds: round(500, 400)},
		{Name: tGatewayLLMStream, Rounds: round(450, 700)},
	}
	h := summarizeHTTP(&options{concurrency: 16, rounds: 1, round: time.Second}, raw, false)
	want := map[[2]string]struct {
		thr, added float64
		goal       string
	}{
		{tGatewayLLMChat, tProxyLLMChat}:     {0.9, 120, "≥ 0.9, added p50 ≤ 150 µs"},
		{tGatewayLLMStream, tProxyLLMStream}: {0.9, 300, "added time to first token (p50) ≤ 1000 µs"},
	}
	if len(h.Ratios) != len(want) {
		t.Fatalf("ratios %+v, want only the two LLM targets against their proxies", h.Ratios)
	}
	for _, r := range h.Ratios {
		w, ok := want[[2]string{r.Target, r.Baseline}]
		if !ok {
			t.Errorf("an unexpected ratio of %s to %s", r.Target, r.Baseline)
			continue
		}
		if r.Throughput.Median != w.thr || r.AddedP50us.Median != w.added || !strings.HasPrefix(r.Goal, w.goal) {
			t.Errorf("%s against %s: %+v, want %.2f×, %+.0f µs, goal starting %q", r.Target, r.Baseline, r, w.thr, w.added, w.goal)
		}
	}
	for _, n := range []string{tProxyLLMChat, tGatewayLLMChat, tProxyLLMStream, tGatewayLLMStream} {
		if targetWhat[n] == "" {
			t.Errorf("target %s has no description", n)
		}
	}
	var all []plan.Target
	for _, r := range raw {
		all = append(all, plan.Target{Name: r.Name})
	}
	var got []string
	for _, tg := range selectTargets(all, []string{tGatewayLLMChat, tGatewayLLMStream}) {
		got = append(got, tg.Name)
	}
	if want := []string{tProxyLLMChat, tGatewayLLMChat, tProxyLLMStream, tGatewayLLMStream}; !slices.Equal(got, want) {
		t.Errorf("selected %v, want %v", got, want)
	}
}

func TestTheLLMRouteAndThePlainProxyReachTheSameProviderPath(t *testing.T) {
	gr, key, oc := llmObjects("http://127.0.0.1:1")
	if gr.Spec.Protocol != scopegatev1alpha1.ProtocolLLM || gr.Spec.LLM == nil || gr.Spec.RateLimit == nil {
		t.Fatalf("route %+v, want an LLM route with the high rate limit", gr.Spec)
	}
	// The gateway sends the provider's backend path plus /v1/...; the
	// plain proxy replaces routePrefix with backendPath: both reach
	// llmBackendPath/v1/chat/completions on the upstream.
	if gr.Spec.Backend.Path != llmBackendPath || llmBackendPath != backendPath+"/llm" {
		t.Errorf("the route's backend path %q, want %q under the proxy's %q", gr.Spec.Backend.Path, backendPath+"/llm", backendPath)
	}
	p := gr.Spec.LLM.Providers[0]
	if p.Format != scopegatev1alpha1.LLMFormatOpenAI || p.APIKeySecretRef.Name != key.Name || key.StringData[p.APIKeySecretRef.Key] == "" {
		t.Errorf("provider %+v, want the OpenAI format with its key in %s", p, key.Name)
	}
	if m := gr.Spec.LLM.Models; len(m) != 1 || m[0].Provider != p.Name {
		t.Errorf("models %+v, want one routed to %s", m, p.Name)
	}
	acc := oc.Spec.LLM
	if acc == nil || !slices.Equal(acc.AllowedModels, []string{"bench-*"}) || acc.TokenQuota == nil || acc.TokenQuota.PerDay == nil || *acc.TokenQuota.PerDay < 1<<40 {
		t.Errorf("the client's LLM access %+v, want bench-* under a quota that never runs out", acc)
	}
	for _, stream := range []bool{false, true} {
		var body struct {
			Model         string          `json:"model"`
			Stream        bool            `json:"stream"`
			StreamOptions map[string]bool `json:"stream_options"`
			MaxTokens     int             `json:"max_tokens"`
		}
		if err := json.Unmarshal([]byte(llmChatBody(stream)), &body); err != nil {
			t.Fatal(err)
		}
		if body.Model != llmModel || body.Stream != stream || body.StreamOptions["include_usage"] != stream || body.MaxTokens <= 0 {
			t.Errorf("chat body (stream %v): %+v", stream, body)
		}
	}
}

func TestTheGatewayIsComparedWithNginxAndTheTunedGoProxy(t *testing.T) {
	round := func(rps, p50 float64) []plan.Round { return []plan.Round{{RPS: rps, P50us: p50, Requests: int(rps)}} }
	raw := []plan.TargetResult{
		{Name: tProxy, Rounds: round(1000, 1000)},
		{Name: tPooled, Rounds: round(1000, 900)},
		{Name: tNginx, Rounds: round(2000, 500)},
		{Name: tGateway, Rounds: round(800, 1100)},
	}
	h := summarizeHTTP(&options{concurrency: 16, rounds: 1, round: time.Second}, raw, false)
	want := map[[2]string]struct {
		thr, added float64
		goal       string
	}{
		{tGateway, tPooled}: {0.8, 200, "≥ 1.0, added p50 ≤ 100 µs"},
		{tGateway, tNginx}:  {0.4, 600, "≥ 0.7"},
		{tPooled, tNginx}:   {0.5, 400, "("},
		{tGateway, tProxy}:  {0.8, 100, "(context"},
	}
	got := map[[2]string]RatioSummary{}
	for _, r := range h.Ratios {
		got[[2]string{r.Target, r.Baseline}] = r
	}
	for k, w := range want {
		r, ok := got[k]
		if !ok {
			t.Errorf("no ratio of %s to %s", k[0], k[1])
			continue
		}
		if r.Throughput.Median != w.thr || r.AddedP50us.Median != w.added || !strings.HasPrefix(r.Goal, w.goal) {
			t.Errorf("%s against %s: %+v, want %.2f×, %+.0f µs, goal starting %q", k[0], k[1], r, w.thr, w.added, w.goal)
		}
	}
	h.NotMeasured = []string{"`" + tNginx + "` NOT measured: no nginx"}
	var b strings.Builder
	h.markdown(&b)
	for _, s := range []string{"| `" + tGateway + "` | `" + tNginx + "` | **0.40×**", "| `" + tNginx + "` | nginx `proxy_pass`", "\n`" + tNginx + "` NOT measured: no nginx.\n"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("the report lacks %q:\n%s", s, b.String())
		}
	}
	if sel := selectTargets([]plan.Target{{Name: tProxy}, {Name: tPooled}, {Name: tNginx}, {Name: tGateway}, {Name: tNoop}}, []string{tGateway}); len(sel) != 4 {
		t.Errorf("selecting %s keeps %v, want it with the plain proxy, the tuned proxy and nginx", tGateway, sel)
	}
}

func TestTheNginxBaselineProxiesWithUpstreamKeepAliveInItsOwnDirectory(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ cert, key, listen string }{
		{"", "", "listen 127.0.0.1:8080;"},
		{"/pki/cert.pem", "/pki/key.pem", "listen 127.0.0.1:8080 ssl;"},
	} {
		conf, err := nginxConfig(dir, "127.0.0.1:8080", "http://127.0.0.1:9090", tc.cert, tc.key)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{
			"daemon off;", "worker_processes auto;", "pid " + filepath.Join(dir, "nginx.pid") + ";",
			"error_log " + filepath.Join(dir, "error.log"), "proxy_temp_path " + filepath.Join(dir, "proxy") + ";",
			"server 127.0.0.1:9090;", "keepalive 64;", tc.listen,
			"location " + routePrefix + " {", "proxy_pass http://bench_upstream" + backendPath + ";",
			"proxy_http_version 1.1;", `proxy_set_header Connection "";`,
		} {
			if !strings.Contains(conf, s) {
				t.Errorf("the configuration lacks %q:\n%s", s, conf)
			}
		}
		if got := strings.Contains(conf, "ssl_certificate "+tc.cert+";"); got != (tc.cert != "") {
			t.Errorf("certificate %q served: %v\n%s", tc.cert, got, conf)
		}
		if got := strings.Contains(conf, "ssl_protocols TLSv1.2 TLSv1.3;"); got != (tc.cert != "") {
			t.Errorf("TLS 1.3 enabled: %v, want %v (the other targets speak it)\n%s", got, tc.cert != "", conf)
		}
		if strings.Contains(conf, "auth") {
			t.Errorf("the nginx baseline checks nothing:\n%s", conf)
		}
	}
	if _, err := nginxConfig(dir, "127.0.0.1:8080", "127.0.0.1:9090", "", ""); err == nil {
		t.Error("an upstream without a scheme was accepted")
	}
}

func TestTheHarnessStartsNginxAndItProxiesToTheUpstream(t *testing.T) {
	bin := nginxBinary("nginx")
	if bin == "" {
		t.Fatal("no nginx in PATH: hack/install-nginx.sh installs it (.ci/run does)")
	}
	var got atomic.Value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.Path + " " + r.Header.Get("Connection"))
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer up.Close()
	files, err := pki.Write(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	clientTLS, err := pki.ClientConfig(files.CA)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		scheme, cert, key string
		tls               *tls.Config
	}{
		{scheme: "http"},
		// The TLS round: the same protocol version as every other target.
		{scheme: "https", cert: files.Cert, key: files.Key, tls: clientTLS},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			addrs, err := freeAddrs(1)
			if err != nil {
				t.Fatal(err)
			}
			p, err := startNginx(t.TempDir(), bin, addrs[0], up.URL, tc.cert, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			defer p.stop(5 * time.Second)
			c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc.tls}}
			base := tc.scheme + "://" + addrs[0]
			if err := waitHTTP(context.Background(), c, p, base+"/", 200, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			res, err := c.Get(base + routePrefix + "/items")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode != 200 || string(body) != `{"ok":true}` {
				t.Fatalf("through nginx: %s %q", res.Status, body)
			}
			if g, _ := got.Load().(string); g != backendPath+"/items " {
				t.Errorf("the upstream saw %q, want %s/items without a Connection header (keep-alive)", g, backendPath)
			}
			if tc.tls != nil {
				if res.TLS == nil {
					t.Fatal("nginx answered without TLS")
				}
				if v := res.TLS.Version; v != tls.VersionTLS13 {
					t.Errorf("nginx answered over %s, want TLS 1.3 as the other targets", tls.VersionName(v))
				}
			}
		})
	}
}
