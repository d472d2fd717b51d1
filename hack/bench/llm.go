package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/hack/bench/plan"
)

// The LLM route of the LLM targets (issue 20): the upstream serves the
// stand-in model provider (internal/llm/llmtest) under /echo/llm, which
// the plain proxy reaches as /api/bench/llm and the route as its
// provider's backend path.
const (
	llmPrefix      = "/llm/bench"
	llmBackendPath = backendPath + "/llm"
	llmClient      = "llm-loader"
	llmKeySecret   = "bench-llm-key"
	llmModel       = "bench-chat"
	llmChatPath    = "/v1/chat/completions"
	// llmQuota is a daily token quota far above what a run uses, so that
	// the quota is checked and charged on every call and never refuses one.
	llmQuota = int64(1) << 50
)

// llmChatBody is a chat completion of about half a KiB with an output
// limit; stream adds stream_options.include_usage, which the gateway sets
// on a streamed chat anyway, so that both sides of a ratio send the
// provider the same request.
func llmChatBody(stream bool) string {
	body := map[string]any{
		"model":      llmModel,
		"max_tokens": 16,
		"messages": []map[string]string{
			{"role": "system", "content": "You are the benchmark's assistant. Answer in one short sentence, without lists, code or links, and never ask a question back."},
			{"role": "user", "content": "Summarise in one sentence what an API gateway in front of a model provider does for the teams that call it, and what it must not add to each call."},
		},
	}
	if stream {
		body["stream"] = true
		body["stream_options"] = map[string]bool{"include_usage": true}
	}
	b, _ := json.Marshal(body)
	return string(b)
}

// llmObjects are the LLM route (one OpenAI-format provider, the stand-in,
// with its key in a Secret), the Secret and the client that may call
// bench-* models under a quota that never runs out.
func llmObjects(upstreamURL string) (*scopegatev1alpha1.GatewayRoute, *corev1.Secret, *scopegatev1alpha1.OAuthClient) {
	rl := &scopegatev1alpha1.RateLimit{RequestsPerSecond: highRate, Burst: highBurst}
	quota := llmQuota
	gr := &scopegatev1alpha1.GatewayRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "llm", Namespace: httpNamespace},
		Spec: scopegatev1alpha1.GatewayRouteSpec{
			PathPrefix:     llmPrefix,
			Protocol:       scopegatev1alpha1.ProtocolLLM,
			Backend:        scopegatev1alpha1.Backend{URL: upstreamURL, Path: llmBackendPath},
			RequiredScopes: []scopegatev1alpha1.Scope{httpScope},
			Audiences:      []scopegatev1alpha1.Audience{httpAudience},
			RateLimit:      rl,
			LLM: &scopegatev1alpha1.LLMPolicy{
				Providers: []scopegatev1alpha1.LLMProvider{{
					Name: "standin", Format: scopegatev1alpha1.LLMFormatOpenAI,
					APIKeySecretRef: scopegatev1alpha1.LLMKeySelector{Name: llmKeySecret, Key: "apiKey"},
				}},
				Models: []scopegatev1alpha1.LLMModelRoute{{Match: "bench-*", Provider: "standin"}},
			},
		},
	}
	key := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: llmKeySecret, Namespace: httpNamespace},
		StringData: map[string]string{"apiKey": "sk-bench-standin"},
	}
	oc := &scopegatev1alpha1.OAuthClient{
		ObjectMeta: metav1.ObjectMeta{Name: llmClient, Namespace: httpNamespace},
		Spec: scopegatev1alpha1.OAuthClientSpec{
			Scopes:    []scopegatev1alpha1.Scope{httpScope},
			Audiences: []scopegatev1alpha1.Audience{httpAudience},
			RateLimit: rl,
			LLM: &scopegatev1alpha1.LLMAccess{
				AllowedModels: []string{"bench-*"},
				TokenQuota:    &scopegatev1alpha1.TokenQuota{PerDay: &quota},
			},
		},
	}
	return gr, key, oc
}

// setUpLLM creates the LLM route, its key and its client, waits until they
// are Ready, checks that a chat completion through the route and through
// the plain proxy is the stand-in's answer with its usage, and returns the
// LLM targets.
func setUpLLM(ctx context.Context, c client.Client, e *env, upstreamURL, proxyURL string) ([]plan.Target, error) {
	gr, key, oc := llmObjects(upstreamURL)
	for _, obj := range []client.Object{key, oc, gr} {
		if err := c.Create(ctx, obj); err != nil {
			return nil, fmt.Errorf("create %s: %w", obj.GetName(), err)
		}
	}
	if err := waitRouteReady(ctx, c, gr); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var o scopegatev1alpha1.OAuthClient
		if err := c.Get(ctx, client.ObjectKeyFromObject(oc), &o); err != nil {
			return nil, err
		}
		if meta.IsStatusConditionTrue(o.Status.Conditions, scopegatev1alpha1.ConditionReady) {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("OAuthClient %s not Ready within 60s: %v", oc.Name, o.Status.Conditions)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var s corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: httpNamespace, Name: oc.CredentialsSecret()}, &s); err != nil {
		return nil, fmt.Errorf("read the credentials Secret of %s: %w", oc.Name, err)
	}
	id, secret := string(s.Data["client_id"]), string(s.Data["client_secret"])
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {httpScope}}.Encode()
	token, err := fetchToken(ctx, e.client, e.issuer+"/oauth/token", map[string]string{"Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"}, form)
	if err != nil {
		return nil, err
	}
	headers := map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"}
	gateway, proxied := e.gatewayURL+llmPrefix+llmChatPath, proxyURL+routePrefix+"/llm"+llmChatPath
	deadline = time.Now().Add(30 * time.Second)
	for {
		err := llmChat(ctx, e.client, gateway, headers)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the LLM route: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := llmChat(ctx, e.client, proxied, headers); err != nil {
		return nil, fmt.Errorf("the plain proxy to the stand-in provider: %w", err)
	}
	chat, stream := llmChatBody(false), llmChatBody(true)
	return []plan.Target{
		{Name: tProxyLLMChat, Method: http.MethodPost, URL: proxied, Headers: headers, Body: chat},
		{Name: tGatewayLLMChat, Method: http.MethodPost, URL: gateway, Headers: headers, Body: chat},
		{Name: tProxyLLMStream, Method: http.MethodPost, URL: proxied, Headers: headers, Body: stream, FirstByte: true, Concurrency: 1},
		{Name: tGatewayLLMStream, Method: http.MethodPost, URL: gateway, Headers: headers, Body: stream, FirstByte: true, Concurrency: 1},
	}, nil
}

// llmChat posts the benchmark's chat completion to u and checks that the
// answer is a completion with usage.
func llmChat(ctx context.Context, hc *http.Client, u string, headers map[string]string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(llmChatBody(false)))
	if err != nil {
		return err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s %s", u, res.Status, bytes.TrimSpace(body[:min(len(body), 512)]))
	}
	var answer struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
		Usage struct {
			Prompt     int `json:"prompt_tokens"`
			Completion int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || len(answer.Choices) != 1 || answer.Usage.Prompt <= 0 || answer.Usage.Completion <= 0 {
		return fmt.Errorf("POST %s: not a chat completion with usage (%v): %s", u, err, body[:min(len(body), 512)])
	}
	return nil
}

// managerHasLLM tells whether the manager binary has LLM routes: they came
// without a flag, so it looks for their token metric's name in the binary.
func managerHasLLM(path string) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.Contains(b, []byte("gen_ai_client_token_usage"))
}
