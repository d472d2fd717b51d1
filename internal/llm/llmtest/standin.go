// Package llmtest is a stand-in model provider: an HTTP server that speaks
// the OpenAI-compatible API (/v1/chat/completions, /v1/responses,
// /v1/embeddings, /v1/models) and Anthropic's Messages API (/v1/messages,
// /v1/models), streaming and not, with usage the way each provider reports
// it. It runs no model: every answer is a fixed sentence naming the model
// asked for, cut to the request's output limit. It records every call (the
// key it was given, the model, the output limit) so that tests can see what
// a gateway sent upstream. `make run` serves it as its local stand-in
// provider; the end-to-end suite drives the official SDKs against it.
package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Call is one request the stand-in received.
type Call struct {
	// Path is the request's path (/v1/...).
	Path string
	// Authorization and APIKey are the request's Authorization and
	// x-api-key headers.
	Authorization, APIKey string
	// Model is the body's model; Stream its stream flag.
	Model  string
	Stream bool
	// MaxTokens is the output limit the body named (max_tokens,
	// max_completion_tokens or max_output_tokens), 0 when none.
	MaxTokens int64
	// IncludeUsage is the chat body's stream_options.include_usage.
	IncludeUsage bool
}

// Provider is the stand-in. The zero value is not usable: use New.
type Provider struct {
	mu    sync.Mutex
	calls []Call
	now   func() time.Time
}

// New returns a stand-in provider.
func New() *Provider { return &Provider{now: time.Now} }

// Calls are the requests received so far, oldest first.
func (p *Provider) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Call(nil), p.calls...)
}

// Reset forgets the calls received.
func (p *Provider) Reset() {
	p.mu.Lock()
	p.calls = nil
	p.mu.Unlock()
}

// request holds the fields of every format's body the stand-in reads.
type request struct {
	Model               string `json:"model"`
	Stream              bool   `json:"stream"`
	MaxTokens           *int64 `json:"max_tokens"`
	MaxCompletionTokens *int64 `json:"max_completion_tokens"`
	MaxOutputTokens     *int64 `json:"max_output_tokens"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func (r request) maxTokens() int64 {
	for _, p := range []*int64{r.MaxTokens, r.MaxCompletionTokens, r.MaxOutputTokens} {
		if p != nil {
			return *p
		}
	}
	return 0
}

// ServeHTTP answers one call.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	anthropic := r.URL.Path == "/v1/messages" || (r.Header.Get("Anthropic-Version") != "" && r.URL.Path == "/v1/models")
	c := Call{Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), APIKey: r.Header.Get("X-Api-Key")}
	var req request
	var size int
	if r.Method == http.MethodPost {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			p.fail(w, anthropic, http.StatusBadRequest, "invalid_request_error", "the body is not JSON: "+err.Error())
			return
		}
		size = len(raw)
		if err := json.Unmarshal(raw, &req); err != nil {
			p.fail(w, anthropic, http.StatusBadRequest, "invalid_request_error", "the body is not a JSON object: "+err.Error())
			return
		}
		c.Model, c.Stream, c.MaxTokens = req.Model, req.Stream, req.maxTokens()
		c.IncludeUsage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	}
	p.mu.Lock()
	p.calls = append(p.calls, c)
	p.mu.Unlock()
	// A provider refuses a call without its key.
	if (anthropic && c.APIKey == "") || (!anthropic && !strings.HasPrefix(c.Authorization, "Bearer ")) {
		p.fail(w, anthropic, http.StatusUnauthorized, "authentication_error", "the stand-in provider wants an API key")
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/v1/models" {
		p.models(w, anthropic)
		return
	}
	if r.Method != http.MethodPost {
		p.fail(w, anthropic, http.StatusNotFound, "not_found_error", r.Method+" "+r.URL.Path+" is not served")
		return
	}
	if req.Model == "" {
		p.fail(w, anthropic, http.StatusBadRequest, "invalid_request_error", "model is required")
		return
	}
	a := answer{model: req.Model, words: Reply(req.Model, req.maxTokens()), input: int64(size+3) / 4, id: p.now().UnixNano()}
	switch r.URL.Path {
	case "/v1/chat/completions":
		if req.Stream {
			a.chatStream(w, c.IncludeUsage)
		} else {
			a.chat(w)
		}
	case "/v1/responses":
		if req.Stream {
			a.responsesStream(w)
		} else {
			writeJSON(w, a.response("completed"))
		}
	case "/v1/messages":
		if req.Stream {
			a.messagesStream(w)
		} else {
			a.message(w)
		}
	case "/v1/embeddings":
		writeJSON(w, map[string]any{"object": "list", "model": req.Model,
			"data":  []any{map[string]any{"object": "embedding", "index": 0, "embedding": []float64{0.25, -0.5, 0.125}}},
			"usage": map[string]any{"prompt_tokens": a.input, "total_tokens": a.input}})
	default:
		p.fail(w, anthropic, http.StatusNotFound, "not_found_error", r.Method+" "+r.URL.Path+" is not served")
	}
}

// Reply is the answer's words (one output token each) to model: the
// stand-in's sentence, cut to max words when max > 0.
func Reply(model string, max int64) []string {
	words := strings.SplitAfter("Hello from the stand-in provider, answering as "+model+".", " ")
	if max > 0 && int64(len(words)) > max {
		words = words[:max]
	}
	return words
}

// answer is one call's answer.
type answer struct {
	model string
	words []string
	input int64
	id    int64
}

func (a answer) text() string         { return strings.Join(a.words, "") }
func (a answer) output() int64        { return int64(len(a.words)) }
func (a answer) name(p string) string { return fmt.Sprintf("%s_standin%d", p, a.id) }

func (a answer) chat(w http.ResponseWriter) {
	writeJSON(w, map[string]any{
		"id": a.name("chatcmpl"), "object": "chat.completion", "created": a.id / 1e9, "model": a.model,
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "logprobs": nil,
			"message": map[string]any{"role": "assistant", "content": a.text(), "refusal": nil}}},
		"usage": map[string]any{"prompt_tokens": a.input, "completion_tokens": a.output(), "total_tokens": a.input + a.output()},
	})
}

func (a answer) chatStream(w http.ResponseWriter, includeUsage bool) {
	s := newSSE(w)
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": a.name("chatcmpl"), "object": "chat.completion.chunk", "created": a.id / 1e9, "model": a.model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": nil}}}
	}
	s.data("", chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	for _, word := range a.words {
		s.data("", chunk(map[string]any{"content": word}, nil))
	}
	s.data("", chunk(map[string]any{}, "stop"))
	if includeUsage {
		s.data("", map[string]any{"id": a.name("chatcmpl"), "object": "chat.completion.chunk", "created": a.id / 1e9, "model": a.model,
			"choices": []any{}, "usage": map[string]any{"prompt_tokens": a.input, "completion_tokens": a.output(), "total_tokens": a.input + a.output()}})
	}
	s.raw("data: [DONE]\n\n")
}

// response is a Responses API response object in status.
func (a answer) response(status string) map[string]any {
	r := map[string]any{
		"id": a.name("resp"), "object": "response", "created_at": a.id / 1e9, "status": status, "model": a.model,
		"output": []any{}, "parallel_tool_calls": true, "tool_choice": "auto", "tools": []any{}, "error": nil, "incomplete_details": nil,
	}
	if status == "completed" {
		r["output"] = []any{map[string]any{"type": "message", "id": a.name("msg"), "status": "completed", "role": "assistant",
			"content": []any{map[string]any{"type": "output_text", "text": a.text(), "annotations": []any{}}}}}
		r["usage"] = map[string]any{"input_tokens": a.input, "output_tokens": a.output(), "total_tokens": a.input + a.output(),
			"input_tokens_details": map[string]any{"cached_tokens": 0}, "output_tokens_details": map[string]any{"reasoning_tokens": 0}}
	}
	return r
}

func (a answer) responsesStream(w http.ResponseWriter) {
	s := newSSE(w)
	seq := 0
	event := func(typ string, fields map[string]any) {
		fields["type"], fields["sequence_number"] = typ, seq
		seq++
		s.data(typ, fields)
	}
	event("response.created", map[string]any{"response": a.response("in_progress")})
	item := a.name("msg")
	event("response.output_item.added", map[string]any{"output_index": 0,
		"item": map[string]any{"type": "message", "id": item, "status": "in_progress", "role": "assistant", "content": []any{}}})
	for _, word := range a.words {
		event("response.output_text.delta", map[string]any{"item_id": item, "output_index": 0, "content_index": 0, "delta": word})
	}
	event("response.output_text.done", map[string]any{"item_id": item, "output_index": 0, "content_index": 0, "text": a.text()})
	event("response.completed", map[string]any{"response": a.response("completed")})
}

func (a answer) message(w http.ResponseWriter) {
	writeJSON(w, map[string]any{
		"id": a.name("msg"), "type": "message", "role": "assistant", "model": a.model,
		"content":     []any{map[string]any{"type": "text", "text": a.text()}},
		"stop_reason": "end_turn", "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": a.input, "output_tokens": a.output()},
	})
}

func (a answer) messagesStream(w http.ResponseWriter) {
	s := newSSE(w)
	s.data("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": a.name("msg"), "type": "message", "role": "assistant", "model": a.model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": map[string]any{"input_tokens": a.input, "output_tokens": 1}}})
	s.data("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
	for _, word := range a.words {
		s.data("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": word}})
	}
	s.data("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	s.data("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": "end_turn", "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": a.output()}})
	s.data("message_stop", map[string]any{"type": "message_stop"})
}

// models lists a few models in the format asked.
func (p *Provider) models(w http.ResponseWriter, anthropic bool) {
	if anthropic {
		writeJSON(w, map[string]any{"data": []any{map[string]any{"type": "model", "id": "stand-in-claude", "display_name": "stand-in-claude", "created_at": "1970-01-01T00:00:00Z"}},
			"has_more": false, "first_id": "stand-in-claude", "last_id": "stand-in-claude"})
		return
	}
	writeJSON(w, map[string]any{"object": "list", "data": []any{map[string]any{"id": "stand-in-gpt", "object": "model", "created": 0, "owned_by": "stand-in"}}})
}

// fail answers an error in the provider's format.
func (p *Provider) fail(w http.ResponseWriter, anthropic bool, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if anthropic {
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// sse writes Server-Sent Events, flushing each.
type sse struct {
	w http.ResponseWriter
	f http.Flusher
}

func newSSE(w http.ResponseWriter) *sse {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	return &sse{w: w, f: f}
}

func (s *sse) data(event string, v any) {
	b, _ := json.Marshal(v)
	if event != "" {
		s.raw("event: " + event + "\n")
	}
	s.raw("data: " + string(b) + "\n\n")
}

func (s *sse) raw(line string) {
	_, _ = s.w.Write([]byte(line))
	if s.f != nil {
		s.f.Flush()
	}
}
