package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/hack/bench/mcpfixture"
	"github.com/scopegate/scopegate/hack/bench/plan"
)

// The MCP routes of the item-rule targets (issue 19): the same upstream
// path as the plain proxy's /api/bench/mcp.
const (
	mcpRulesPrefix   = "/mcp/rules"
	mcpNoRulesPrefix = "/mcp/norules"
	mcpBackendPath   = backendPath + "/mcp"
	// mcpWriteScope is what the even rules require and the client lacks.
	mcpWriteScope = "api:bench:write"
)

// mcpRoute is an MCP GatewayRoute to the upstream's JSON-RPC server, with
// mcpfixture's 50 tool rules when rules is set.
func mcpRoute(name, prefix, upstreamURL string, rules bool) *scopegatev1alpha1.GatewayRoute {
	rl := &scopegatev1alpha1.RateLimit{RequestsPerSecond: highRate, Burst: highBurst}
	gr := &scopegatev1alpha1.GatewayRoute{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: httpNamespace},
		Spec: scopegatev1alpha1.GatewayRouteSpec{
			PathPrefix:     prefix,
			Protocol:       scopegatev1alpha1.ProtocolMCP,
			Backend:        scopegatev1alpha1.Backend{URL: upstreamURL, Path: mcpBackendPath},
			RequiredScopes: []scopegatev1alpha1.Scope{httpScope},
			Audiences:      []scopegatev1alpha1.Audience{httpAudience},
			RateLimit:      rl,
		},
	}
	if rules {
		p := &scopegatev1alpha1.MCPPolicy{}
		for i := range mcpfixture.Rules {
			scope := scopegatev1alpha1.Scope(mcpWriteScope)
			if mcpfixture.RuleAllowsReader(i) {
				scope = httpScope
			}
			p.Rules = append(p.Rules, scopegatev1alpha1.MCPRule{
				Tools:           []string{mcpfixture.RuleGlob(i)},
				ItemRequirement: scopegatev1alpha1.ItemRequirement{RequiredScopes: []scopegatev1alpha1.Scope{scope}},
			})
		}
		gr.Spec.MCP = p
	}
	return gr
}

// setUpMCP creates the two MCP routes, waits until they are Ready and
// routed, checks that a tools/list through the route with rules comes back
// filtered to the tools the client may use, and returns the MCP targets.
func setUpMCP(ctx context.Context, c client.Client, e *env, upstreamURL, proxyURL, token string) ([]plan.Target, error) {
	routes := []*scopegatev1alpha1.GatewayRoute{
		mcpRoute("mcp-rules", mcpRulesPrefix, upstreamURL, true),
		mcpRoute("mcp-norules", mcpNoRulesPrefix, upstreamURL, false),
	}
	for _, gr := range routes {
		if err := c.Create(ctx, gr); err != nil {
			return nil, fmt.Errorf("create GatewayRoute %s: %w", gr.Name, err)
		}
	}
	for _, gr := range routes {
		if err := waitRouteReady(ctx, c, gr); err != nil {
			return nil, err
		}
	}
	headers := map[string]string{
		"Authorization": "Bearer " + token,
		"Content-Type":  "application/json",
		"Accept":        "application/json, text/event-stream",
	}
	var tools int
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := mcpListedTools(ctx, e.client, e.gatewayURL+mcpRulesPrefix, headers)
		if err == nil {
			tools = n
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the MCP route with rules: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if tools != mcpfixture.Tools/2 {
		return nil, fmt.Errorf("tools/list through the route with rules listed %d tools, want %d of %d", tools, mcpfixture.Tools/2, mcpfixture.Tools)
	}
	if n, err := mcpListedTools(ctx, e.client, e.gatewayURL+mcpNoRulesPrefix, headers); err != nil || n != mcpfixture.Tools {
		return nil, fmt.Errorf("tools/list through the route without rules: %d tools, %v; want all %d", n, err, mcpfixture.Tools)
	}
	call, list := mcpfixture.CallBody(), mcpfixture.ListBody()
	proxied := proxyURL + routePrefix + "/mcp"
	return []plan.Target{
		{Name: tProxyMCPCall, Method: http.MethodPost, URL: proxied, Headers: headers, Body: call},
		{Name: tGatewayMCPNoRules, Method: http.MethodPost, URL: e.gatewayURL + mcpNoRulesPrefix, Headers: headers, Body: call},
		{Name: tGatewayMCPCall, Method: http.MethodPost, URL: e.gatewayURL + mcpRulesPrefix, Headers: headers, Body: call},
		{Name: tProxyMCPList, Method: http.MethodPost, URL: proxied, Headers: headers, Body: list},
		{Name: tGatewayMCPList, Method: http.MethodPost, URL: e.gatewayURL + mcpRulesPrefix, Headers: headers, Body: list},
	}, nil
}

// waitRouteReady waits up to 60 s for gr's Ready condition.
func waitRouteReady(ctx context.Context, c client.Client, gr *scopegatev1alpha1.GatewayRoute) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		var g scopegatev1alpha1.GatewayRoute
		if err := c.Get(ctx, client.ObjectKeyFromObject(gr), &g); err != nil {
			return err
		}
		if meta.IsStatusConditionTrue(g.Status.Conditions, scopegatev1alpha1.ConditionReady) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GatewayRoute %s not Ready within 60s: %v", gr.Name, g.Status.Conditions)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// mcpListedTools posts a tools/list to u and counts the tools answered.
func mcpListedTools(ctx context.Context, hc *http.Client, u string, headers map[string]string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(mcpfixture.ListBody()))
	if err != nil {
		return 0, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return 0, err
	}
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("POST %s: %s %s", u, res.Status, bytes.TrimSpace(body[:min(len(body), 512)]))
	}
	var answer struct {
		Result struct {
			Tools []json.RawMessage `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return 0, fmt.Errorf("POST %s: the answer is not a tools/list result: %w", u, err)
	}
	return len(answer.Result.Tools), nil
}
