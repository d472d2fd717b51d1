package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// metricName matches the metric names a PromQL expression uses.
var metricName = regexp.MustCompile(`\b(scopegate_[a-z_]+|leader_election_[a-z_]+)\b`)

// queriedMetrics lists the metric names in the Grafana dashboard's and the
// alert rules' expressions, histogram suffixes removed.
func queriedMetrics(t *testing.T) []string {
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
	var names []string
	for _, e := range exprs {
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
	return names
}

// TestTheDashboardAndAlertsQueryMetricsThatExist drives a little traffic,
// scrapes the manager's /metrics and finds every metric the dashboard and
// the alert rules query, so neither can drift from the binary.
func TestTheDashboardAndAlertsQueryMetricsThatExist(t *testing.T) {
	h := env(t)
	h.apply(t, "dashboards.yaml", h.vars())
	h.waitReady(t, "e2e-dash", "oauthclient/dash")
	h.waitReady(t, "e2e-dash", "gatewayroute/dash-echo")
	h.waitRoute(t, "/e2e/dash/echo")
	c := h.credentials(t, "e2e-dash", "dash")
	tok := h.token(t, c, "mcp", url.Values{"audience": {"mcp"}})
	h.expectGateway(t, "dashboard traffic", "/e2e/dash/echo/x", tok, http.StatusOK)
	h.introspect(t, c, tok)
	if r, err := h.postForm("/oauth/revoke", c, url.Values{"token": {tok}}); err != nil || r.Status != 200 {
		t.Fatalf("e2e: revoke: %v %v", r, err)
	}
	names := queriedMetrics(t)
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
		return len(missing) == 0, "no sample of " + strings.Join(missing, ", ")
	})
}
