package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
