package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/scopegate/scopegate/internal/llm/llmtest"
)

// metricName matches the metric names a PromQL expression uses: the GenAI
// conventions' metrics are gen_ai_client_* and gen_ai_server_*, their
// labels (gen_ai_token_type, ...) are not.
var metricName = regexp.MustCompile(`\b(scopegate_[a-z_]+|leader_election_[a-z_]+|gen_ai_(?:client|server)_[a-z_]+)\b`)

// queriedReason matches a reason="..." or reason=~"a|b" matcher; its values
// are gateway reason codes.
var queriedReason = regexp.MustCompile(`\breason=~?"([^"]+)"`)

// queriedMetrics lists the metric names in the Grafana dashboard's and the
// alert rules' expressions, histogram suffixes removed, and the reason codes
// they select.
func queriedMetrics(t *testing.T) (names, reasons []string) {
	t.Helper()
	var exprs []string
	b, err := os.ReadFile(filepath.Join(suite.root, "dist", "grafana", "scopegate.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Targets []struct{ Expr string } `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("e2e: dist/grafana/scopegate.json: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	b, err = os.ReadFile(filepath.Join(suite.root, "dist", "prometheus", "scopegate-alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert, Expr string
			}
		}
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("e2e: dist/prometheus/scopegate-alerts.yaml: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	for _, e := range exprs {
		for _, m := range queriedReason.FindAllStringSubmatch(e, -1) {
			for _, r := range strings.Split(m[1], "|") {
				if !slices.Contains(reasons, r) {
					reasons = append(reasons, r)
				}
			}
		}
		for _, n := range metricName.FindAllString(e, -1) {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				n = strings.TrimSuffix(n, suffix)
			}
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) < 10 {
		t.Fatalf("e2e: only %d metrics found in the dashboard and alerts: %v", len(names), names)
	}
	return names, reasons
}

// TestTheDashboardAndAlertsQueryMetricsThatExist drives a little traffic,
// scrapes the manager's /metrics and finds every metric the dashboard and
// the alert rules query, and a decision with every reason code they select,
// so neither can drift from the binary.
func TestTheDashboardAndAlertsQueryMetricsThatExist(t *testing.T) {
	h := env(t)
	provider := httptest.NewServer(llmtest.New())
	t.Cleanup(provider.Close)
	h.apply(t, "dashboards.yaml", h.vars("LLM_URL", provider.URL))
	for _, o := range []string{"oauthclient/dash", "gatewayroute/dash-echo", "oauthclient/dash-llm", "gatewayroute/dash-llm"} {
		h.waitReady(t, "e2e-dash", o)
	}
	h.waitRoute(t, "/e2e/dash/echo")
	h.waitRoute(t, "/e2e/dash/llm/v1/models")
	// Token usage, then the two LLM refusals the dashboard shows: a model
	// outside allowedModels, and the daily quota of one token, used up by
	// the first call.
	llmTok := h.token(t, h.credentials(t, "e2e-dash", "dash-llm"), "llm:call", url.Values{"audience": {"llm"}})
	for _, step := range []struct {
		model string
		want  int
	}{{"dash-mini", http.StatusOK}, {"dash-large", http.StatusForbidden}, {"dash-mini", http.StatusTooManyRequests}} {
		if code, body := h.chat(t, "/e2e/dash/llm/v1/chat/completions", llmTok, step.model); code != step.want {
			t.Fatalf("e2e: a chat with %s: %d %s, want %d", step.model, code, body, step.want)
		}
	}
	c := h.credentials(t, "e2e-dash", "dash")
	tok := h.token(t, c, "mcp", url.Values{"audience": {"mcp"}})
	h.expectGateway(t, "dashboard traffic", "/e2e/dash/echo/x", tok, http.StatusOK)
	h.introspect(t, c, tok)
	if r, err := h.postForm("/oauth/revoke", c, url.Values{"token": {tok}}); err != nil || r.Status != 200 {
		t.Fatalf("e2e: revoke: %v %v", r, err)
	}
	names, reasons := queriedMetrics(t)
	if !slices.Contains(reasons, "token_quota_exhausted") || !slices.Contains(reasons, "model_not_allowed") {
		t.Fatalf("e2e: the dashboard selects the reasons %v, want the LLM refusals among them", reasons)
	}
	eventually(t, "every metric of the dashboard and the alerts on "+h.metricsURL+"/metrics", defaultWait, pollInterval, func() (bool, string) {
		res, err := h.http.Get(h.metricsURL + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var missing []string
		for _, n := range names {
			// A counter or gauge sample is "name{" or "name "; a histogram's
			// are "name_bucket{", "name_sum", "name_count".
			if !regexp.MustCompile(`(?m)^` + n + `(_bucket|_sum|_count)?[{ ]`).Match(b) {
				missing = append(missing, n)
			}
		}
		for _, r := range reasons {
			if !regexp.MustCompile(`(?m)^scopegate_gateway_decisions_total\{[^}]*reason="` + regexp.QuoteMeta(r) + `"`).Match(b) {
				missing = append(missing, "scopegate_gateway_decisions_total with reason "+r)
			}
		}
		return len(missing) == 0, "no sample of " + strings.Join(missing, ", ")
	})
}

// chat posts a one-line chat completion for model through the gateway and
// returns the status and the start of the body.
func (h *harness) chat(t *testing.T, path, token, model string) (int, string) {
	t.Helper()
	body := `{"model":"` + model + `","messages":[{"role":"user","content":"hello"}]}`
	req, err := http.NewRequest(http.MethodPost, h.gatewayURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := h.http.Do(req)
	if err != nil {
		t.Fatalf("e2e: POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
	return res.StatusCode, string(b)
}
