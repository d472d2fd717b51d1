package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scopegate/scopegate/hack/bench/dpopproof"
	"github.com/scopegate/scopegate/hack/bench/pki"
	"github.com/scopegate/scopegate/hack/bench/plan"
	"github.com/scopegate/scopegate/internal/dpop"
)

// runPlan writes p, runs the command on it with extra flags and returns
// the decoded result.
func runPlan(t *testing.T, p plan.Plan, extra ...string) (plan.Result, error) {
	t.Helper()
	dir := t.TempDir()
	planPath, outPath := filepath.Join(dir, "plan.json"), filepath.Join(dir, "result.json")
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(planPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var res plan.Result
	if err := run(context.Background(), append([]string{"-plan", planPath, "-out", outPath}, extra...), io.Discard); err != nil {
		return res, err
	}
	raw, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatalf("read result: %v", err)
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("decode result %s: %v", raw, err)
	}
	return res, nil
}

func echo(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer t" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	_, _ = io.WriteString(w, `{"ok":true}`)
}

func TestAPlanRunsEveryTargetInEveryRoundAndWritesTheResult(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(echo))
	defer srv.Close()
	bearer := map[string]string{"Authorization": "Bearer t"}
	// Bounded by requests, not time: the counts are exact.
	p := plan.Plan{
		Concurrency: 4, Rounds: 3, Round: time.Minute, Warmup: 100 * time.Millisecond, MaxRequests: 40,
		Targets: []plan.Target{
			{Name: "ok", Method: http.MethodGet, URL: srv.URL + "/", Headers: bearer},
			{Name: "refused", Method: http.MethodPost, URL: srv.URL + "/", Body: "a=b"},
			{Name: "first-byte", Method: http.MethodGet, URL: srv.URL + "/", Headers: bearer, FirstByte: true, Concurrency: 1},
		},
	}
	res, err := runPlan(t, p)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(res.Targets) != 3 {
		t.Fatalf("%d targets in the result, want 3", len(res.Targets))
	}
	for i, tr := range res.Targets {
		wantStatus, wantErrors := http.StatusOK, 0
		if tr.Name == "refused" {
			wantStatus, wantErrors = http.StatusUnauthorized, 40
		}
		if tr.Name != p.Targets[i].Name || len(tr.Rounds) != 3 || tr.Proto != "HTTP/1.1" {
			t.Fatalf("target %d: %s with %d rounds over %q, want %s with 3 over HTTP/1.1", i, tr.Name, len(tr.Rounds), tr.Proto, p.Targets[i].Name)
		}
		for r, s := range tr.Rounds {
			if s.Requests != 40 || s.Statuses[wantStatus] != 40 || s.Errors != wantErrors {
				t.Errorf("%s round %d: %+v, want 40 answered %d with %d errors", tr.Name, r+1, s, wantStatus, wantErrors)
			}
			if wantErrors == 0 && (s.RPS <= 0 || s.P50us <= 0) {
				t.Errorf("%s round %d: rps %v, p50 %v µs, want both positive", tr.Name, r+1, s.RPS, s.P50us)
			}
		}
	}
}

func TestWithACAFileHTTPSTargetsAreTrustedAndSpeakHTTP1OverTLS(t *testing.T) {
	f, err := pki.Write(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(echo))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	p := plan.Plan{
		Concurrency: 2, Rounds: 1, Round: time.Minute, MaxRequests: 10,
		Targets: []plan.Target{{Name: "tls", Method: http.MethodGet, URL: srv.URL + "/", Headers: map[string]string{"Authorization": "Bearer t"}}},
	}
	// Without -ca-file the system roots do not know the throwaway CA.
	res, err := runPlan(t, p)
	if err != nil {
		t.Fatalf("run without -ca-file: %v", err)
	}
	if s := res.Targets[0].Rounds[0]; s.TransportErrors != 10 || s.Errors != 10 {
		t.Fatalf("without -ca-file: %+v, want 10 transport errors", s)
	}
	res, err = runPlan(t, p, "-ca-file", f.CA)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	tr := res.Targets[0]
	if s := tr.Rounds[0]; s.Statuses[http.StatusOK] != 10 {
		t.Fatalf("round %+v, want 10×200", s)
	}
	if !strings.HasPrefix(tr.Proto, "HTTP/1.1, TLS 1.3, ") {
		t.Errorf("protocol %q, want HTTP/1.1 over TLS 1.3", tr.Proto)
	}
}

func TestPlansThatWouldUnboundTheRunAreRefused(t *testing.T) {
	target := plan.Target{Name: "t", Method: http.MethodGet, URL: "http://127.0.0.1:1/"}
	good := plan.Plan{Concurrency: 1, Rounds: 1, Round: time.Second, MaxRequests: 1, Targets: []plan.Target{target}}
	if _, err := runPlan(t, good); err != nil {
		t.Fatalf("the plan the cases start from is refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*plan.Plan)
	}{
		{"no workers", func(p *plan.Plan) { p.Concurrency = 0 }},
		{"too many workers", func(p *plan.Plan) { p.Concurrency = maxConcurrency + 1 }},
		{"no rounds", func(p *plan.Plan) { p.Rounds = 0 }},
		{"a round of an hour", func(p *plan.Plan) { p.Round = time.Hour }},
		{"a negative warm-up", func(p *plan.Plan) { p.Warmup = -time.Second }},
		{"no request bound", func(p *plan.Plan) { p.MaxRequests = 0 }},
		{"no targets", func(p *plan.Plan) { p.Targets = nil }},
		{"a target with too many workers", func(p *plan.Plan) { p.Targets = []plan.Target{{Name: "t", Concurrency: maxConcurrency + 1}} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := good
			tc.edit(&p)
			if _, err := runPlan(t, p); err == nil {
				t.Errorf("plan %+v accepted", p)
			}
		})
	}
}

func TestADPoPTargetSendsAFreshProofThatPassesTheChecksOnEveryRequest(t *testing.T) {
	signer, err := dpopproof.Generate()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "dpop.pem")
	if err := signer.WriteKey(keyFile); err != nil {
		t.Fatal(err)
	}
	// The server checks as the gateway does, replay cache included: a
	// proof sent twice would be refused.
	v := dpop.NewVerifier(dpop.Options{})
	const htu = "http://gateway.example/api/items"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := v.Verify(r.Header.Get("DPoP"), dpop.Request{Method: r.Method, URL: htu, AccessToken: "tok"})
		if err != nil || p.JKT != signer.Thumbprint() {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	p := plan.Plan{
		Concurrency: 4, Rounds: 2, Round: time.Minute, MaxRequests: 30,
		Targets: []plan.Target{
			{Name: "dpop", Method: http.MethodGet, URL: srv.URL + "/", Headers: map[string]string{"Authorization": "DPoP tok"}, DPoP: &plan.DPoP{KeyFile: keyFile, HTU: htu}},
			{Name: "no-proof", Method: http.MethodGet, URL: srv.URL + "/", Headers: map[string]string{"Authorization": "DPoP tok"}},
		},
	}
	res, err := runPlan(t, p)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, r := range res.Targets[0].Rounds {
		if r.Statuses[http.StatusOK] != 30 {
			t.Errorf("dpop round statuses %v, want 30×200", r.Statuses)
		}
	}
	for _, r := range res.Targets[1].Rounds {
		if r.Statuses[http.StatusUnauthorized] != 30 {
			t.Errorf("no-proof round statuses %v, want 30×401 (the server does check)", r.Statuses)
		}
	}

	p.Targets[0].DPoP.KeyFile = ""
	if _, err := runPlan(t, p); err == nil || !strings.Contains(err.Error(), "key_file") {
		t.Errorf("a dpop target without a key: %v, want refused", err)
	}
}
