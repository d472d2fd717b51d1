package e2e

import (
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/scopegate/scopegate/internal/llm/llmtest"
)

// llmOp is one SDK call of clients/llm_client.mjs and what came of it.
type llmOp struct {
	SDK   string `json:"sdk"`
	Call  string `json:"call"`
	Model string `json:"model"`
	OK    bool   `json:"ok"`
	Text  string `json:"text"`
	Usage *struct {
		Input  int64 `json:"input"`
		Output int64 `json:"output"`
	} `json:"usage"`
	Models []string `json:"models"`
	Events []string `json:"events"`
	// A refusal, as the SDK's APIError tells it.
	Status             int    `json:"status"`
	ErrorClass         string `json:"errorClass"`
	ErrorType          string `json:"errorType"`
	ErrorCode          string `json:"errorCode"`
	Message            string `json:"message"`
	RetryAfter         string `json:"retryAfter"`
	RateLimitRemaining string `json:"rateLimitRemaining"`
}

// TestLLMRoutesWithTheOfficialSDKs drives the openai and @anthropic-ai/sdk
// npm clients through an LLM route (baseURL the gateway, apiKey the
// scopegate access token) to a stand-in provider that speaks both wire
// formats: chat completions, responses and messages, each plain and
// streamed, reach the provider with the key of the route's Secret (never
// the token), the upstream model rename and the client's output clamp; a
// model the client may not use is a 403 the SDK reads as its provider's
// permission error; a used-up quota is a 429 with Retry-After; models.list()
// shows only the client's models.
func TestLLMRoutesWithTheOfficialSDKs(t *testing.T) {
	h := env(t)
	provider := llmtest.New()
	srv := httptest.NewServer(provider)
	t.Cleanup(srv.Close)
	h.apply(t, "llm.yaml", h.vars("LLM_URL", srv.URL))
	for _, o := range []string{"oauthclient/agent", "oauthclient/thrifty", "gatewayroute/models"} {
		h.waitReady(t, "e2e-llm", o)
	}
	h.waitRoute(t, "/e2e/llm/v1/models")
	drive := func(t *testing.T, client string, ops ...map[string]any) ([]llmOp, string) {
		t.Helper()
		tok := h.token(t, h.credentials(t, "e2e-llm", client), "llm:call", url.Values{"audience": {"llm"}})
		var res struct {
			Results []llmOp `json:"results"`
		}
		runNode(t, "llm_client.mjs", map[string]any{
			"openaiBaseURL": h.gatewayURL + "/e2e/llm/v1", "anthropicBaseURL": h.gatewayURL + "/e2e/llm", "token": tok, "ops": ops,
		}, &res)
		if len(res.Results) != len(ops) {
			t.Fatalf("e2e: %d results for %d calls: %s", len(res.Results), len(ops), mustJSON(res.Results))
		}
		return res.Results, tok
	}
	op := func(sdk, call, model string) map[string]any {
		return map[string]any{"sdk": sdk, "call": call, "model": model}
	}
	// The agent's output is clamped to 5 tokens: the stand-in answers one
	// word per token.
	clamped := strings.Join(llmtest.Reply("stand-in-mini-2026", 5), "")
	clampedClaude := strings.Join(llmtest.Reply("claude-e2e-sonnet", 5), "")

	t.Run("Calls in both formats, plain and streamed, reach the provider with the Secret's key", func(t *testing.T) {
		provider.Reset()
		res, tok := drive(t, "agent",
			op("openai", "chat", "gpt-e2e-mini"),
			op("openai", "chat-stream", "gpt-e2e-mini"),
			op("openai", "responses", "gpt-e2e-mini"),
			op("openai", "responses-stream", "gpt-e2e-mini"),
			op("anthropic", "messages", "claude-e2e-sonnet"),
			op("anthropic", "messages-stream", "claude-e2e-sonnet"),
		)
		for i, r := range res {
			want := clamped
			if r.SDK == "anthropic" {
				want = clampedClaude
			}
			if !r.OK || r.Text != want {
				t.Errorf("e2e: call %d (%s %s): %s; want the text %q", i, r.SDK, r.Call, mustJSON(r), want)
				continue
			}
			if r.Usage == nil || r.Usage.Input <= 0 || r.Usage.Output != 5 {
				t.Errorf("e2e: call %d (%s %s): usage %s, want the provider's with 5 output tokens", i, r.SDK, r.Call, mustJSON(r.Usage))
			}
		}
		if ev := res[3].Events; !slices.Contains(ev, "response.output_text.delta") || !slices.Contains(ev, "response.completed") {
			t.Errorf("e2e: the responses stream's events: %v", ev)
		}
		if ev := res[5].Events; len(ev) == 0 || ev[0] != "message_start" || ev[len(ev)-1] != "message_stop" {
			t.Errorf("e2e: the messages stream's events: %v", ev)
		}
		calls := provider.Calls()
		if len(calls) != 6 {
			t.Fatalf("e2e: the provider received %d calls, want 6: %+v", len(calls), calls)
		}
		for i, c := range calls {
			if strings.Contains(c.Authorization+c.APIKey, tok) {
				t.Errorf("e2e: the provider received the scopegate token on call %d (%s)", i, c.Path)
			}
			if c.MaxTokens != 5 {
				t.Errorf("e2e: call %d (%s) reached the provider with output limit %d, want the clamp 5", i, c.Path, c.MaxTokens)
			}
			if c.Path == "/v1/messages" {
				if c.APIKey != "sk-ant-e2e-from-the-secret" || c.Authorization != "" || c.Model != "claude-e2e-sonnet" {
					t.Errorf("e2e: call %d to Anthropic: x-api-key %q, Authorization %q, model %q; want the Secret's key alone", i, c.APIKey, c.Authorization, c.Model)
				}
				continue
			}
			if c.Authorization != "Bearer sk-e2e-openai-from-the-secret" || c.APIKey != "" || c.Model != "stand-in-mini-2026" {
				t.Errorf("e2e: call %d to OpenAI (%s): Authorization %q, x-api-key %q, model %q; want the Secret's key and the upstream model", i, c.Path, c.Authorization, c.APIKey, c.Model)
			}
		}
		if wantPaths := []string{"/v1/chat/completions", "/v1/chat/completions", "/v1/responses", "/v1/responses", "/v1/messages", "/v1/messages"}; !slices.Equal(paths(calls), wantPaths) {
			t.Errorf("e2e: the provider's paths %v, want %v", paths(calls), wantPaths)
		}
		if !calls[1].Stream || !calls[1].IncludeUsage {
			t.Errorf("e2e: the streamed chat reached the provider without stream_options.include_usage: %+v", calls[1])
		}
		h.waitMetric(t, "gen_ai_client_token_usage_count", `client_id="e2e-llm.agent"`, `gen_ai_token_type="output"`, `gen_ai_request_model="claude-e2e-*"`)
	})

	t.Run("A model the client may not use is the provider's permission error, and models.list() is filtered", func(t *testing.T) {
		provider.Reset()
		res, _ := drive(t, "agent",
			op("openai", "chat", "gpt-e2e-large"),
			op("anthropic", "messages", "gpt-e2e-mini"),
			op("openai", "models", ""),
			op("anthropic", "models", ""),
		)
		if r := res[0]; r.OK || r.Status != 403 || r.ErrorClass != "PermissionDeniedError" || r.ErrorCode != "model_not_allowed" || r.ErrorType != "permission_error" {
			t.Errorf("e2e: openai chat with gpt-e2e-large: %s; want the SDK's PermissionDeniedError with code model_not_allowed", mustJSON(r))
		}
		// The Anthropic SDK asks for an OpenAI model: the format of the
		// call decides the error's format.
		if r := res[1]; r.OK || r.Status != 400 || r.ErrorClass != "BadRequestError" || r.ErrorType != "invalid_request_error" {
			t.Errorf("e2e: anthropic messages with an OpenAI model: %s; want the SDK's BadRequestError", mustJSON(r))
		}
		if r := res[2]; !r.OK || !slices.Equal(r.Models, []string{"gpt-e2e-mini"}) {
			t.Errorf("e2e: openai models.list(): %s; want [gpt-e2e-mini] (gpt-e2e-large is not the agent's)", mustJSON(r))
		}
		if r := res[3]; !r.OK || len(r.Models) != 0 {
			t.Errorf("e2e: anthropic models.list(): %s; want none (claude-e2e-* is a pattern)", mustJSON(r))
		}
		if n := len(provider.Calls()); n != 0 {
			t.Errorf("e2e: refused calls and model lists reached the provider %d times", n)
		}
	})

	t.Run("A used-up quota is 429 with Retry-After, in each format", func(t *testing.T) {
		provider.Reset()
		// The first call is admitted and charged more than the 10 tokens a
		// day thrifty has; the next ones are refused.
		res, _ := drive(t, "thrifty",
			op("openai", "chat", "gpt-e2e-large"),
			op("openai", "chat", "gpt-e2e-large"),
			op("anthropic", "messages-stream", "claude-e2e-haiku"),
		)
		if !res[0].OK || res[0].Usage == nil || res[0].Usage.Input+res[0].Usage.Output <= 10 {
			t.Fatalf("e2e: thrifty's first call: %s; want it served and charged more than 10 tokens", mustJSON(res[0]))
		}
		for i, r := range res[1:] {
			wantClass := map[string]string{"openai": "RateLimitError", "anthropic": "RateLimitError"}[r.SDK]
			secs, err := strconv.Atoi(r.RetryAfter)
			if r.OK || r.Status != 429 || r.ErrorClass != wantClass || r.ErrorType != "rate_limit_error" || err != nil || secs < 1 || secs > 86400 || r.RateLimitRemaining != "0" {
				t.Errorf("e2e: thrifty's call %d (%s) after its quota: %s; want the SDK's RateLimitError with Retry-After in (0, 86400] s and RateLimit-Remaining 0", i+2, r.SDK, mustJSON(r))
			}
			if !strings.Contains(r.Message, "10 tokens per day") {
				t.Errorf("e2e: the refusal's message %q does not name the quota", r.Message)
			}
		}
		if r := res[1]; r.ErrorCode != "token_quota_exhausted" {
			t.Errorf("e2e: the OpenAI refusal's code is %q, want token_quota_exhausted", r.ErrorCode)
		}
		if n := len(provider.Calls()); n != 1 {
			t.Errorf("e2e: the provider received %d calls, want only the first", n)
		}
		h.waitMetric(t, "scopegate_gateway_decisions_total", `reason="token_quota_exhausted"`, `route="e2e-llm/models"`)
	})
}

func paths(calls []llmtest.Call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.Path
	}
	return out
}
