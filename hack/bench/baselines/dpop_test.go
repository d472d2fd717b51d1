package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scopegate/scopegate/hack/bench/dpopproof"
)

func TestTheDPoPIssuerBindsTheTokenToAProofAndRefusesBadOrReplayedOnes(t *testing.T) {
	const htu = "http://127.0.0.1:1/oauth/token"
	is, err := newIssuer(options{clientID: "c", secret: "s", issuer: "http://127.0.0.1:1", allowedScopes: "x", dpopHTU: htu})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := dpopproof.Generate()
	if err != nil {
		t.Fatal(err)
	}
	post := func(proofs ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"x"}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("c", "s")
		for _, p := range proofs {
			r.Header.Add("DPoP", p)
		}
		w := httptest.NewRecorder()
		is.ServeHTTP(w, r)
		return w
	}
	proof := func(htm, u string, iat time.Time) string {
		p, err := signer.Proof(htm, u, "", iat)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	good := proof(http.MethodPost, htu, time.Now())
	w := post(good)
	if w.Code != http.StatusOK {
		t.Fatalf("a good proof: %d %s", w.Code, w.Body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil || tr.TokenType != "DPoP" {
		t.Fatalf("answer %s, want token_type DPoP", w.Body)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tr.AccessToken, ".")[1])
	var claims struct {
		Cnf struct{ JKT string } `json:"cnf"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Cnf.JKT != signer.Thumbprint() {
		t.Fatalf("token claims %s, want cnf.jkt %s", payload, signer.Thumbprint())
	}

	for _, tc := range []struct {
		name   string
		proofs []string
	}{
		{"the same proof again", []string{good}},
		{"no proof", nil},
		{"two proofs", []string{proof(http.MethodPost, htu, time.Now()), proof(http.MethodPost, htu, time.Now())}},
		{"another method", []string{proof(http.MethodGet, htu, time.Now())}},
		{"another URL", []string{proof(http.MethodPost, htu+"/x", time.Now())}},
		{"an old proof", []string{proof(http.MethodPost, htu, time.Now().Add(-2*time.Minute))}},
		{"a proof from the future", []string{proof(http.MethodPost, htu, time.Now().Add(time.Minute))}},
		{"a tampered signature", []string{good[:len(good)-4] + "AAAA"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if w := post(tc.proofs...); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "invalid_dpop_proof") {
				t.Fatalf("answer %d %s, want 400 invalid_dpop_proof", w.Code, w.Body)
			}
		})
	}
}
