package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/llm"
	"github.com/scopegate/scopegate/internal/registry"
)

// maxLLMBody is the largest request body an LLM route reads (larger ones
// are 413): prompts with images run to megabytes.
const maxLLMBody = 32 << 20

// llmCall is what the decision found out about an LLM request.
type llmCall struct {
	call llm.Call
	// provider is where it goes (nil when the gateway answers itself:
	// GET /v1/models).
	provider *LLMProvider
	// model is the model asked for, label the metric label of it (the
	// model route's pattern when that is one: callers choose model names,
	// metrics must not let them mint series), upstream what goes upstream.
	model, label, upstream string
	// body is the body to send (rewritten), nil when the request has none.
	body []byte
	// path is the API path below the route's prefix (/v1/...).
	path           string
	stream         bool
	estimatedInput int64
	// windows are the client's quota windows, states their count at the
	// decision.
	windows []llm.Window
	states  []llm.WindowState
	// allowed are the client's model patterns (nil: any).
	allowed []string
}

// llmAPIKeyToken reads an LLM route's token from x-api-key when there is no
// Authorization header: Anthropic's SDKs send their apiKey there, so an
// agent sets it to its scopegate access token. It never goes upstream.
func llmAPIKeyToken(f *facts) {
	if f.creds != NoBearer || f.header == nil {
		return
	}
	if k := f.header.Get("X-Api-Key"); k != "" && !strings.ContainsAny(k, " \t") {
		f.token, f.creds = k, Bearer
	}
}

// llmDeny refuses an LLM request in its format's error body.
func llmDeny(v *verdict, format llm.Format, status int, reason, message string, headers http.Header) {
	v.deny(&gatewayError{Status: status, Code: reason, Description: message, Reason: reason, Headers: headers,
		Body: llm.ErrorBody(format, status, reason, message)})
}

// quotaWindows are a client's quota windows.
func quotaWindows(a *registry.LLMAccess) []llm.Window {
	if a == nil {
		return nil
	}
	var w []llm.Window
	if a.TokensPerMinute > 0 {
		w = append(w, llm.Window{Name: "minute", Period: time.Minute, Limit: a.TokensPerMinute})
	}
	if a.TokensPerDay > 0 {
		w = append(w, llm.Window{Name: "day", Period: 24 * time.Hour, Limit: a.TokensPerDay})
	}
	return w
}

// decideLLM decides the LLM part of a request on an LLM route, after the
// token, scopes and audience passed: the operation (by path), the model
// and its model route, the client's allowed models (403
// model_not_allowed), the per-call input cap (400), the token quota (429
// token_quota_exhausted) and the provider (503 when its key or upstream is
// missing). The output cap clamps the body; it never refuses.
func (g *Gateway) decideLLM(v *verdict, f *facts, rt *Route, claims *accesstoken.Claims) bool {
	sub := v.clean
	if rt.PathPrefix != "/" {
		sub = strings.TrimPrefix(v.clean, rt.PathPrefix)
	}
	c, ok := llm.Classify(f.method, sub, f.header)
	if !ok {
		v.check(func() Check {
			return Check{Name: "llm", Detail: f.method + " " + sub + " is none of the LLM operations this route serves"}
		})
		llmDeny(v, llm.OpenAI, http.StatusNotFound, ReasonLLMRequestInvalid, "the route serves POST /v1/chat/completions, /v1/responses, /v1/embeddings, /v1/messages and GET /v1/models", nil)
		return false
	}
	lc := &llmCall{call: c, path: sub}
	v.llm = lc
	var access *registry.LLMAccess
	if g.registry != nil {
		if cl, found := g.registry.Get(claims.ClientID); found {
			access = cl.LLM
		}
	}
	if access != nil {
		lc.allowed = access.AllowedModels
		lc.windows = quotaWindows(access)
	}
	if c.Operation == llm.ListModels {
		v.check(func() Check {
			return Check{Name: "llm", Passed: true, Detail: "the gateway lists the models the client may use"}
		})
		v.allow(ReasonModelsListed)
		return false // answered by the gateway: no limits, no backend
	}

	body, tooLarge, err := f.readBody(maxLLMBody)
	switch {
	case err != nil:
		llmDeny(v, c.Format, http.StatusBadRequest, ReasonLLMRequestInvalid, "the request body could not be read", nil)
		return false
	case tooLarge:
		v.check(func() Check { return Check{Name: "llm", Detail: "the request body is too large"} })
		llmDeny(v, c.Format, http.StatusRequestEntityTooLarge, ReasonLLMRequestInvalid, fmt.Sprintf("the request body is larger than %d bytes", maxLLMBody), nil)
		return false
	}
	req, err := llm.ParseRequest(c.Operation, body)
	if err != nil {
		v.check(func() Check { return Check{Name: "llm", Detail: err.Error()} })
		llmDeny(v, c.Format, http.StatusBadRequest, ReasonLLMRequestInvalid, err.Error(), nil)
		return false
	}
	lc.model, lc.stream, lc.estimatedInput = req.Model, req.Stream, req.EstimatedInput
	mr, target, routed := rt.LLM.route(req.Model)
	if !routed {
		v.check(func() Check {
			return Check{Name: "model", Detail: "no model route of the route matches " + strconv.Quote(req.Model)}
		})
		llmDeny(v, c.Format, http.StatusNotFound, ReasonModelNotFound, fmt.Sprintf("the model %q is not served by this route", req.Model), nil)
		return false
	}
	lc.label, lc.upstream = req.Model, target.Model
	if llm.IsPattern(mr.Match) {
		lc.label = mr.Match
	}
	if access != nil && !llm.MatchAny(access.AllowedModels, req.Model) {
		v.check(func() Check {
			return Check{Name: "model", Required: access.AllowedModels, Detail: "the client may not use the model " + strconv.Quote(req.Model)}
		})
		llmDeny(v, c.Format, http.StatusForbidden, ReasonModelNotAllowed, fmt.Sprintf("client %s may not use the model %q", claims.ClientID, req.Model), nil)
		return false
	}
	v.check(func() Check {
		return Check{Name: "model", Passed: true, Detail: fmt.Sprintf("%q goes to provider %s as %q", req.Model, target.Provider, target.Model)}
	})
	p := rt.LLM.provider(target.Provider)
	if p != nil && p.Format != c.Format {
		v.check(func() Check {
			return Check{Name: "model", Detail: fmt.Sprintf("provider %s speaks %s, the request %s", p.Name, p.Format, c.Format)}
		})
		llmDeny(v, c.Format, http.StatusBadRequest, ReasonLLMRequestInvalid, fmt.Sprintf("the model %q is served in the %s format, not %s", req.Model, p.Format, c.Format), nil)
		return false
	}
	rw := llm.Rewrite{Model: target.Model, IncludeUsage: true}
	if access != nil {
		if access.MaxInputTokens > 0 && req.EstimatedInput > access.MaxInputTokens {
			v.check(func() Check {
				return Check{Name: "tokens", Detail: fmt.Sprintf("the input, estimated at %d tokens, is above the client's %d per call", req.EstimatedInput, access.MaxInputTokens)}
			})
			llmDeny(v, c.Format, http.StatusBadRequest, ReasonInputTokensExceeded,
				fmt.Sprintf("the input, estimated at %d tokens (4 bytes each), is above the %d tokens per call client %s may send", req.EstimatedInput, access.MaxInputTokens, claims.ClientID), nil)
			return false
		}
		rw.MaxOutput = access.MaxOutputTokens
	}
	if !g.decideQuota(v, lc, claims.ClientID) {
		return false
	}
	if lc.body, err = rw.Apply(c.Operation, req, body); err != nil {
		llmDeny(v, c.Format, http.StatusBadRequest, ReasonLLMRequestInvalid, err.Error(), nil)
		return false
	}
	lc.provider = p
	return true
}

// decideQuota refuses a client whose token quota is used up: 429 with
// Retry-After until the window restarts and the RateLimit-* fields, and
// OpenAI's x-ratelimit-*-tokens ones.
func (g *Gateway) decideQuota(v *verdict, lc *llmCall, clientID string) bool {
	if len(lc.windows) == 0 {
		v.check(func() Check { return Check{Name: "tokenQuota", Passed: true, Detail: "the client has no token quota"} })
		return true
	}
	ctx := v.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	q, err := g.checkQuota(ctx, clientID, lc.windows)
	if err != nil {
		return g.quotaStoreFailed(v, lc, err)
	}
	ok, states, ex := q.ok, q.states, q.exhausted
	lc.states = states
	v.check(func() Check {
		parts := make([]string, len(states))
		for i, s := range states {
			parts[i] = fmt.Sprintf("%s: %d of %d tokens left", s.Name, s.Remaining(), s.Limit)
		}
		return Check{Name: "tokenQuota", Passed: ok, Detail: strings.Join(parts, "; ") + " (counted by " + q.countedBy + ")"}
	})
	if ok {
		return true
	}
	retry := seconds(ex.Reset.Sub(g.now()))
	llmDeny(v, lc.call.Format, http.StatusTooManyRequests, ReasonTokenQuotaExhausted,
		fmt.Sprintf("client %s used its %d tokens per %s; the quota restarts in %s s", clientID, ex.Limit, ex.Name, retry),
		http.Header{
			"Retry-After":                  {retry},
			"Ratelimit-Limit":              {strconv.FormatInt(ex.Limit, 10)},
			"Ratelimit-Remaining":          {"0"},
			"Ratelimit-Reset":              {retry},
			"X-Ratelimit-Limit-Tokens":     {strconv.FormatInt(ex.Limit, 10)},
			"X-Ratelimit-Remaining-Tokens": {"0"},
			"X-Ratelimit-Reset-Tokens":     {retry + "s"},
		})
	return false
}

// quotaStoreFailed decides a call whose token quota the shared store could
// not read, by the rate-limit failure mode: open lets it pass (counted in
// scopegate_gateway_llm_quota_failures_total), closed refuses it with 503
// and Retry-After.
func (g *Gateway) quotaStoreFailed(v *verdict, lc *llmCall, err error) bool {
	if !v.explain {
		g.llmMetrics.quotaFailures.WithLabelValues("check").Inc()
	}
	if !g.limitFailClosed {
		v.check(func() Check {
			return Check{Name: "tokenQuota", Passed: true, Detail: "the rate-limit store did not answer (" + err.Error() + "); the call passes unchecked (--rate-limit-failure-mode=open)"}
		})
		return true
	}
	v.check(func() Check {
		return Check{Name: "tokenQuota", Detail: "the rate-limit store did not answer (" + err.Error() + "); the call is refused (--rate-limit-failure-mode=closed)"}
	})
	llmDeny(v, lc.call.Format, http.StatusServiceUnavailable, ReasonRateLimitUnavailable, "the token quota cannot be checked right now", http.Header{"Retry-After": {"1"}})
	return false
}

// decideLLMBackend allows an LLM request whose provider can be called: it
// has an upstream endpoint and its key was read.
func (g *Gateway) decideLLMBackend(v *verdict) {
	lc := v.llm
	p := lc.provider
	var why string
	switch {
	case p == nil:
		why = "the model route names a provider the route does not declare"
	case p.Key == "":
		why = "the key of provider " + p.Name + " is unavailable: " + p.KeyError
	case len(p.Endpoints) == 0:
		why = "provider " + p.Name + " has no ready upstream endpoint"
	}
	if why != "" {
		v.check(func() Check { return Check{Name: "backend", Detail: why} })
		llmDeny(v, lc.call.Format, http.StatusServiceUnavailable, ReasonProviderUnavailable, "the model's provider is unavailable", http.Header{"Retry-After": {"5"}})
		return
	}
	v.check(func() Check {
		return Check{Name: "backend", Passed: true, Detail: fmt.Sprintf("provider %s (%s), %d endpoint(s), key read", p.Name, p.Format, len(p.Endpoints))}
	})
	v.allow(ReasonAuthorized)
}

// TokenUsage is a client's token quota windows now and who counted them
// (the admin API's usage view): this replica, each limit its share, or
// every replica in Redis. The windows are nil when the client is unknown
// or has no token quota, or when Redis did not answer (countedBy says so).
func (g *Gateway) TokenUsage(ctx context.Context, clientID string) (windows []llm.WindowState, countedBy string) {
	if g.registry == nil {
		return nil, ""
	}
	cl, ok := g.registry.Get(clientID)
	if !ok {
		return nil, ""
	}
	w := quotaWindows(cl.LLM)
	if len(w) == 0 {
		return nil, ""
	}
	q, err := g.checkQuota(ctx, clientID, w)
	if err != nil {
		return nil, "nobody: the redis rate-limit store did not answer"
	}
	return q.states, q.countedBy
}
