package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"time"

	"github.com/scopegate/scopegate/hack/bench/dpopproof"
	"github.com/scopegate/scopegate/hack/bench/plan"
)

// setUpDPoP makes the run's DPoP key (written next to the plan for the load
// generator), obtains a token bound to it from the manager, checks that the
// gateway accepts it with a proof, and returns the DPoP targets: the
// issuer baseline with a proof, the token endpoint with one, the plain
// proxy and the gateway sent the bound token with a proof.
func setUpDPoP(ctx context.Context, e *env, tokenHeaders map[string]string, form, proxyURL, issuerDPoPURL string) ([]plan.Target, error) {
	signer, err := dpopproof.Generate()
	if err != nil {
		return nil, err
	}
	keyFile := filepath.Join(e.dir, "dpop.pem")
	if err := signer.WriteKey(keyFile); err != nil {
		return nil, err
	}
	tokenURL := e.issuer + "/oauth/token"
	proof, err := signer.Proof(http.MethodPost, tokenURL, "", time.Now())
	if err != nil {
		return nil, err
	}
	h := maps.Clone(tokenHeaders)
	h["DPoP"] = proof
	token, err := fetchToken(ctx, e.client, tokenURL, h, form)
	if err != nil {
		return nil, fmt.Errorf("DPoP-bound token: %w", err)
	}
	itemsURL := e.gatewayURL + routePrefix + "/items"
	auth := map[string]string{"Authorization": "DPoP " + token}
	if err := checkOnce(ctx, e.client, itemsURL, auth, signer.Hook(itemsURL)); err != nil {
		return nil, fmt.Errorf("the gateway with a DPoP-bound token: %w", err)
	}
	gw := &plan.DPoP{KeyFile: keyFile, HTU: itemsURL}
	return []plan.Target{
		{Name: tIssuerDPoP, Method: http.MethodPost, URL: issuerDPoPURL + "/oauth/token", Headers: tokenHeaders, Body: form, DPoP: &plan.DPoP{KeyFile: keyFile, HTU: issuerDPoPURL + "/oauth/token"}},
		{Name: tTokenDPoP, Method: http.MethodPost, URL: tokenURL, Headers: tokenHeaders, Body: form, DPoP: &plan.DPoP{KeyFile: keyFile, HTU: tokenURL}},
		{Name: tProxyDPoP, Method: http.MethodGet, URL: proxyURL + routePrefix + "/items", Headers: auth, DPoP: gw},
		{Name: tGatewayDPoP, Method: http.MethodGet, URL: itemsURL, Headers: auth, DPoP: gw},
	}, nil
}

// checkOnce sends one GET to u with headers and hook and wants 200.
func checkOnce(ctx context.Context, hc *http.Client, u string, headers map[string]string, hook func(*http.Request) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if err := hook(req); err != nil {
		return err
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("GET %s: %s %s (WWW-Authenticate %q)", u, res.Status, b, res.Header.Get("WWW-Authenticate"))
	}
	return nil
}
