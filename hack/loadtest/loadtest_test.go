package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/scopegate/scopegate/hack/loadgen"
)

// tinyLoad keeps the harness exercised without making `make test` slow. The
// time bound is generous: the tests assert what was answered, never how
// fast.
func tinyLoad() Load {
	return Load{Concurrency: 4, Requests: 200, Warmup: 20, MaxDuration: 2 * time.Minute}
}

func startEnv(t *testing.T) *Env {
	t.Helper()
	env, err := Start()
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(env.Close)
	return env
}

func TestEveryTargetAnswersEveryRequestWithOK(t *testing.T) {
	env := startEnv(t)
	ctx := context.Background()
	load := tinyLoad()
	targets, err := env.Targets(ctx, load.Warmup+load.Requests)
	if err != nil {
		t.Fatalf("targets: %v", err)
	}
	var names []string
	for _, tg := range targets {
		names = append(names, tg.Name)
	}
	want := []string{targetPlainProxy, targetGateway, targetGatewayFresh, targetTokenBaseline, targetTokenEndpoint}
	if !slices.Equal(names, want) {
		t.Fatalf("targets %v, want %v", names, want)
	}

	sent := int64(load.Warmup + load.Requests)
	for _, tg := range targets {
		t.Run(tg.Name, func(t *testing.T) {
			total, identified := env.backend.total.Load(), env.backend.withIdentity.Load()
			r := Measure(ctx, tg, load)
			if r.Requests != load.Requests || r.Errors != 0 || r.Statuses[http.StatusOK] != load.Requests {
				t.Fatalf("requests %d, errors %d, statuses %v, transport errors %d; want %d answered 200",
					r.Requests, r.Errors, r.Statuses, r.TransportErrors, load.Requests)
			}
			if r.P50us <= 0 || r.P50us > r.P90us || r.P90us > r.P99us {
				t.Errorf("percentiles p50 %v, p90 %v, p99 %v µs are not ordered", r.P50us, r.P90us, r.P99us)
			}
			gotTotal := env.backend.total.Load() - total
			gotIdentified := env.backend.withIdentity.Load() - identified
			switch tg.Name {
			case targetGateway, targetGatewayFresh:
				// Every request, warm-up included, reached the backend
				// with the gateway's identity header.
				if gotTotal != sent || gotIdentified != sent {
					t.Errorf("backend saw %d requests, %d with X-Client-Id %s; want %d and %d", gotTotal, gotIdentified, loadClientID, sent, sent)
				}
			case targetPlainProxy:
				if gotTotal != sent || gotIdentified != 0 {
					t.Errorf("backend saw %d requests, %d with X-Client-Id; want %d and 0 through the plain proxy", gotTotal, gotIdentified, sent)
				}
			default:
				if gotTotal != 0 {
					t.Errorf("backend saw %d requests from a token endpoint target", gotTotal)
				}
			}
		})
	}
}

func TestTheTokenEndpointTargetGetsATokenTheGatewayAccepts(t *testing.T) {
	env := startEnv(t)
	ctx := context.Background()
	targets, err := env.Targets(ctx, 0)
	if err != nil {
		t.Fatalf("targets: %v", err)
	}
	i := slices.IndexFunc(targets, func(tg *Target) bool { return tg.Name == targetTokenEndpoint })
	if i < 0 {
		t.Fatalf("no %s target", targetTokenEndpoint)
	}
	req, err := targets[i].NewRequest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := loadgen.NewClient(1, nil)
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("token endpoint status %d: %s", res.StatusCode, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		t.Fatalf("decode token response %s: %v", body, err)
	}
	claims, err := env.tokens.Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("verify issued token: %v", err)
	}
	if claims.ClientID != loadClientID || tok.Scope != loadScope {
		t.Errorf("token for %q with scope %q, want %q and %q", claims.ClientID, tok.Scope, loadClientID, loadScope)
	}

	// The issued token works at the gateway like the harness's own.
	gw := target("issued", "", env.apiRequest(env.gatewayURL, func() string { return tok.AccessToken }))
	if r := Measure(ctx, gw, Load{Concurrency: 1, Requests: 3, MaxDuration: time.Minute}); r.Statuses[http.StatusOK] != 3 {
		t.Errorf("gateway statuses %v with the endpoint's token, want 3×200", r.Statuses)
	}
}

func TestATargetThatRefusesRequestsIsReportedBroken(t *testing.T) {
	env := startEnv(t)
	bad := target("bad-token", "", env.apiRequest(env.gatewayURL, func() string { return "not-a-token" }))
	r := Measure(context.Background(), bad, Load{Concurrency: 2, Requests: 20, MaxDuration: time.Minute})
	if r.Statuses[http.StatusUnauthorized] != 20 || r.Errors != 20 {
		t.Fatalf("statuses %v, errors %d; want 20×401 counted as errors", r.Statuses, r.Errors)
	}
	if got := broken([]*Result{r}, 0.001); len(got) != 1 {
		t.Errorf("broken %v, want the target listed", got)
	}
	ok := &Result{Target: "fine", Stats: loadgen.Stats{Requests: 10000, Errors: 10, Statuses: map[int]int{200: 9990, 502: 10}}}
	if got := broken([]*Result{ok}, 0.001); len(got) != 0 {
		t.Errorf("broken %v for an error fraction of exactly 0.001", got)
	}
}

func TestTheCommandPrintsJSONWithRatiosAndExitsZero(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-n", "200", "-c", "4", "-warmup", "20", "-rounds", "3", "-fresh-tokens", "-json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("decode JSON report: %v\n%s", err, stdout.String())
	}
	// 200 requests in 3 rounds: 67, 67 and 66 per target.
	if len(rep.Results) != 5 || len(rep.Broken) != 0 || rep.Rounds != 3 {
		t.Fatalf("%d results, broken %v, %d rounds; want 5, none and 3", len(rep.Results), rep.Broken, rep.Rounds)
	}
	for _, r := range rep.Results {
		if r.Requests != 200 || r.Errors != 0 {
			t.Errorf("%s: %d requests, %d errors", r.Target, r.Requests, r.Errors)
		}
		hasRatios := r.ThroughputRatio > 0 && r.P99Ratio > 0
		if (r.Baseline != "") != hasRatios {
			t.Errorf("%s (baseline %q): throughput ratio %v, p99 ratio %v", r.Target, r.Baseline, r.ThroughputRatio, r.P99Ratio)
		}
	}
	if !bytes.Contains(stderr.Bytes(), []byte("req/s vs base")) {
		t.Errorf("no table on stderr:\n%s", stderr.String())
	}
}

func TestFlagsThatWouldUnboundTheRunAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"-c", "0"},
		{"-n", "0"},
		{"-n", "2000000"},
		{"-warmup", "-1"},
		{"-max-duration", "0s"},
		{"-max-duration", "1h"},
		{"-fresh-tokens", "-n", "300000"},
		{"-max-error-fraction", "1"},
		{"-rounds", "0"},
		{"-n", "10", "-rounds", "11"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	if o.load != (Load{Concurrency: 16, Requests: 20000, Warmup: 1000, MaxDuration: 30 * time.Second}) || o.rounds != 4 || o.freshTokens || o.json {
		t.Errorf("defaults %+v", o)
	}
}

func TestTheTimeBoundStopsARunWithoutCountingCutOffRequestsAsErrors(t *testing.T) {
	env := startEnv(t)
	targets, err := env.Targets(context.Background(), 0)
	if err != nil {
		t.Fatalf("targets: %v", err)
	}
	// A million requests do not fit in 0.4s on any machine this runs on.
	l := Load{Concurrency: 4, Requests: 1_000_000, MaxDuration: 400 * time.Millisecond}
	results := MeasureAll(context.Background(), logr.Discard(), targets[:2], l, 2)
	for _, r := range results {
		if r.Requests == 0 || r.Requests >= l.Requests || r.Errors != 0 {
			t.Errorf("%s: %d requests, %d errors (statuses %v, transport errors %d); want some, fewer than %d, none failed",
				r.Target, r.Requests, r.Errors, r.Statuses, r.TransportErrors, l.Requests)
		}
	}
}
