package llm

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	anth := http.Header{"Anthropic-Version": {"2023-06-01"}}
	cases := []struct {
		name, method, path string
		h                  http.Header
		want               Call
		ok                 bool
	}{
		{"a chat completion is OpenAI's", "POST", "/v1/chat/completions", nil, Call{OpenAI, ChatCompletions}, true},
		{"a trailing slash is the same operation", "POST", "/v1/responses/", nil, Call{OpenAI, Responses}, true},
		{"embeddings are OpenAI's", "POST", "/v1/embeddings", nil, Call{OpenAI, Embeddings}, true},
		{"messages are Anthropic's", "POST", "/v1/messages", nil, Call{Anthropic, Messages}, true},
		{"models without anthropic-version are OpenAI's", "GET", "/v1/models", nil, Call{OpenAI, ListModels}, true},
		{"models with anthropic-version are Anthropic's", "GET", "/v1/models", anth, Call{Anthropic, ListModels}, true},
		{"a GET of a chat completion is not served", "GET", "/v1/chat/completions", nil, Call{}, false},
		{"another path is not served", "POST", "/v1/files", nil, Call{}, false},
		{"one model's page is not served", "GET", "/v1/models/gpt-4o", nil, Call{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := Classify(c.method, c.path, c.h)
			if got != c.want || ok != c.ok {
				t.Fatalf("Classify = %v, %v; want %v, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

func TestSetKey(t *testing.T) {
	h := http.Header{"Authorization": {"Bearer scopegate-token"}, "X-Api-Key": {"scopegate-token"}}
	SetKey(h, OpenAI, "sk-1")
	if h.Get("Authorization") != "Bearer sk-1" || h.Get("X-Api-Key") != "" {
		t.Fatalf("OpenAI header = %v", h)
	}
	h = http.Header{"Authorization": {"Bearer scopegate-token"}}
	SetKey(h, Anthropic, "ak-1")
	if h.Get("X-Api-Key") != "ak-1" || h.Get("Authorization") != "" || h.Get("Anthropic-Version") != AnthropicVersion {
		t.Fatalf("Anthropic header = %v", h)
	}
}

func TestParseRequest(t *testing.T) {
	cases := []struct {
		name string
		op   Operation
		body string
		want Request
		err  bool
	}{
		{"chat reads the model and the smaller of both limits", ChatCompletions, `{"model":"gpt-4o","max_tokens":500,"max_completion_tokens":200,"stream":true}`, Request{Model: "gpt-4o", Stream: true, MaxOutput: 200}, false},
		{"chat without a limit has none", ChatCompletions, `{"model":"m"}`, Request{Model: "m"}, false},
		{"responses read max_output_tokens", Responses, `{"model":"m","max_output_tokens":64}`, Request{Model: "m", MaxOutput: 64}, false},
		{"messages read max_tokens", Messages, `{"model":"claude","max_tokens":1024}`, Request{Model: "claude", MaxOutput: 1024}, false},
		{"embeddings have no output limit", Embeddings, `{"model":"e","max_tokens":9}`, Request{Model: "e"}, false},
		{"an array is not a request", ChatCompletions, `[1]`, Request{}, true},
		{"broken JSON is not a request", ChatCompletions, `{"model":`, Request{}, true},
		{"a model of the wrong type is refused", ChatCompletions, `{"model":1}`, Request{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseRequest(c.op, []byte(c.body))
			if c.err {
				if !errors.Is(err, ErrNotJSON) {
					t.Fatalf("err = %v, want ErrNotJSON", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.want.EstimatedInput = int64(len(c.body)+3) / 4
			if got != c.want {
				t.Fatalf("ParseRequest = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestRewrite(t *testing.T) {
	cases := []struct {
		name string
		op   Operation
		rw   Rewrite
		body string
		want map[string]any
		same bool
	}{
		{"nothing to change returns the body as is", ChatCompletions, Rewrite{MaxOutput: 100}, `{"model":"m","max_completion_tokens":50}`, nil, true},
		{"the model is renamed", ChatCompletions, Rewrite{Model: "up"}, `{"model":"m","x":[1]}`, map[string]any{"model": "up", "x": []any{1.0}}, false},
		{"an absent limit is set to the cap", Messages, Rewrite{MaxOutput: 100}, `{"model":"m"}`, map[string]any{"model": "m", "max_tokens": 100.0}, false},
		{"a larger limit is clamped", Responses, Rewrite{MaxOutput: 100}, `{"model":"m","max_output_tokens":1000}`, map[string]any{"model": "m", "max_output_tokens": 100.0}, false},
		{"chat clamps both limit fields", ChatCompletions, Rewrite{MaxOutput: 10}, `{"model":"m","max_tokens":1000}`, map[string]any{"model": "m", "max_tokens": 10.0, "max_completion_tokens": 10.0}, false},
		{"a streamed chat asks for usage, keeping other stream options", ChatCompletions, Rewrite{IncludeUsage: true}, `{"model":"m","stream":true,"stream_options":{"x":1}}`,
			map[string]any{"model": "m", "stream": true, "stream_options": map[string]any{"x": 1.0, "include_usage": true}}, false},
		{"an unstreamed chat is left alone", ChatCompletions, Rewrite{IncludeUsage: true}, `{"model":"m"}`, nil, true},
		{"embeddings get no output cap", Embeddings, Rewrite{MaxOutput: 10}, `{"model":"m"}`, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := ParseRequest(c.op, []byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			out, err := c.rw.Apply(c.op, req, []byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.same {
				if string(out) != c.body {
					t.Fatalf("body changed: %s", out)
				}
				return
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(c.want)
			if string(gb) != string(wb) {
				t.Fatalf("body = %s, want %s", gb, wb)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, model string
		want           bool
	}{
		{"*", "anything", true},
		{"*", "", true},
		{"gpt-4o", "gpt-4o", true},
		{"gpt-4o", "gpt-4o-mini", false},
		{"gpt-4o*", "gpt-4o-mini", true},
		{"gpt-4o*", "gpt-4", false},
		{"claude-*-latest", "claude-3-5-haiku-latest", true},
		{"claude-*-latest", "claude-latest", false},
		{"*-mini", "gpt-4o-mini", true},
		{"a*a", "a", false},
		{"a*a", "aa", true},
		{"a*b*c", "abbc", true},
		{"a*b*c", "acb", false},
		{"GPT*", "gpt-4o", false},
	}
	for _, c := range cases {
		if got := Match(c.pattern, c.model); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.model, got, c.want)
		}
	}
}

func TestRouterResolve(t *testing.T) {
	r := Router{Routes: []ModelRoute{
		{Match: "gpt-4o", Provider: "openai", UpstreamModel: "gpt-4o-2024-08-06"},
		{Match: "gpt-*", Provider: "openai"},
		{Match: "claude-*", Provider: "anthropic"},
		{Match: "*", Provider: "fallback"},
	}}
	cases := []struct{ model, provider, up string }{
		{"gpt-4o", "openai", "gpt-4o-2024-08-06"},
		{"gpt-4o-mini", "openai", "gpt-4o-mini"},
		{"claude-sonnet-4", "anthropic", "claude-sonnet-4"},
		{"llama", "fallback", "llama"},
	}
	for _, c := range cases {
		got, err := r.Resolve(c.model)
		if err != nil || got.Provider != c.provider || got.Model != c.up {
			t.Errorf("Resolve(%q) = %+v, %v; want %s %s", c.model, got, err, c.provider, c.up)
		}
	}
	if _, err := (Router{Routes: []ModelRoute{{Match: "a", Provider: "p"}}}).Resolve("b"); !errors.Is(err, ErrNoModelRoute) {
		t.Errorf("an unrouted model: err = %v", err)
	}
	if _, err := r.Resolve(""); !errors.Is(err, ErrNoModelRoute) {
		t.Errorf("no model: err = %v", err)
	}
}

func TestParseUsage(t *testing.T) {
	cases := []struct {
		name string
		body string
		want Usage
		ok   bool
	}{
		{"a chat completion", `{"id":"c","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}`, Usage{12, 7}, true},
		{"a response", `{"object":"response","usage":{"input_tokens":5,"output_tokens":3,"output_tokens_details":{"reasoning_tokens":1},"total_tokens":8}}`, Usage{5, 3}, true},
		{"embeddings", `{"object":"list","usage":{"prompt_tokens":4,"total_tokens":4}}`, Usage{4, 0}, true},
		{"an Anthropic message counts cache tokens as input", `{"type":"message","usage":{"input_tokens":10,"cache_creation_input_tokens":2,"cache_read_input_tokens":3,"output_tokens":20}}`, Usage{15, 20}, true},
		{"no usage", `{"id":"x"}`, Usage{}, false},
		{"null usage", `{"usage":null}`, Usage{}, false},
		{"an empty usage", `{"usage":{}}`, Usage{}, false},
		{"negative counts are zero", `{"usage":{"prompt_tokens":-5,"completion_tokens":2}}`, Usage{0, 2}, true},
		{"not JSON", `data: x`, Usage{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := ParseUsage([]byte(c.body))
			if got != c.want || ok != c.ok {
				t.Fatalf("ParseUsage = %+v, %v; want %+v, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

// Streams as the providers send them.
const (
	chatStream = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":null}\n\n" +
		"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}],\"usage\":null}\n\n" +
		"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}],\"usage\":null}\n\n" +
		"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":21,\"completion_tokens\":9,\"total_tokens\":30}}\n\n" +
		"data: [DONE]\n\n"
	responsesStream = "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r\",\"usage\":null}}\n\n" +
		"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n" +
		"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\" there\"}\n\n" +
		"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\",\"output\":[{\"type\":\"message\"}],\"usage\":{\"input_tokens\":11,\"output_tokens\":4,\"total_tokens\":15}}}\n\n"
	anthropicStream = "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":25,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\r\n\r\n" +
		"event: content_block_start\r\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\r\n\r\n" +
		"event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\r\n\r\n" +
		"event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"!\"}}\r\n\r\n" +
		"event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n" +
		"event: message_delta\r\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":12}}\r\n\r\n" +
		"event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n"
)

func meterOf(chunks ...string) *StreamMeter {
	m := NewStreamMeter()
	m.SetEstimatedInput(99)
	for _, c := range chunks {
		if n, err := m.Write([]byte(c)); n != len(c) || err != nil {
			panic("Write must take everything")
		}
	}
	return m
}

func TestStreamMeterEveryFormatAnySplit(t *testing.T) {
	cases := []struct {
		name   string
		stream string
		want   Usage
	}{
		{"OpenAI chat chunks with include_usage", chatStream, Usage{21, 9}},
		{"the Responses API's completed event", responsesStream, Usage{11, 4}},
		{"Anthropic's message_start and message_delta", anthropicStream, Usage{30, 12}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Every split point into two reads, and one byte per read.
			for i := 0; i <= len(c.stream); i++ {
				m := meterOf(c.stream[:i], c.stream[i:])
				if got, complete := m.Usage(); got != c.want || !complete {
					t.Fatalf("split at %d: Usage = %+v, %v; want %+v, complete", i, got, complete, c.want)
				}
			}
			bytewise := make([]string, len(c.stream))
			for i := range c.stream {
				bytewise[i] = c.stream[i : i+1]
			}
			if got, complete := meterOf(bytewise...).Usage(); got != c.want || !complete {
				t.Fatalf("byte by byte: Usage = %+v, %v", got, complete)
			}
		})
	}
}

func TestStreamMeterCutStreamChargesWhatWasSeen(t *testing.T) {
	cut := func(s, before string) string { return s[:strings.Index(s, before)] }
	cases := []struct {
		name   string
		stream string
		want   Usage
	}{
		{"a chat stream cut before its usage: the estimate and one token per delta chunk",
			cut(chatStream, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[]"), Usage{99, 3}},
		{"a responses stream cut before completion: the estimate and its text deltas",
			cut(responsesStream, "event: response.completed"), Usage{99, 2}},
		{"an Anthropic stream cut after two deltas: message_start's input and the deltas",
			cut(anthropicStream, "event: ping"), Usage{30, 2}},
		{"an Anthropic stream cut right after message_start: its counts",
			cut(anthropicStream, "event: content_block_start"), Usage{30, 1}},
		{"a stream cut in the middle of the usage line charges the estimate",
			chatStream[:strings.Index(chatStream, "\"completion_tokens\"")], Usage{99, 3}},
		{"nothing seen: the estimate", "", Usage{99, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, complete := meterOf(c.stream).Usage()
			if got != c.want || complete {
				t.Fatalf("Usage = %+v, %v; want %+v, incomplete", got, complete, c.want)
			}
		})
	}
}

func TestStreamMeterOverlongLineReadsTheUsageInItsTail(t *testing.T) {
	text := strings.Repeat("x", MaxLine+100)
	line := "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"output\":[{\"text\":\"" + text + "\"}],\"usage\":{\"input_tokens\":7,\"output_tokens\":300000}}}\n\n"
	m := NewStreamMeter()
	for i := 0; i < len(line); i += 4096 {
		_, _ = m.Write([]byte(line[i:min(i+4096, len(line))]))
		if len(m.line) > MaxLine+4096 || cap(m.line) > 2*MaxLine {
			t.Fatalf("the meter holds %d bytes (capacity %d)", len(m.line), cap(m.line))
		}
	}
	if got, complete := m.Usage(); got != (Usage{7, 300000}) || !complete {
		t.Fatalf("Usage = %+v, %v", got, complete)
	}
	// And the next line is read normally.
	_, _ = m.Write([]byte("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n"))
	if got, _ := m.Usage(); got != (Usage{1, 2}) {
		t.Fatalf("after the long line: Usage = %+v", got)
	}
}

func TestQuotasWindows(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 0, 30, 0, time.UTC)
	q := NewQuotas(func() time.Time { return now })
	windows := []Window{{Name: "minute", Period: time.Minute, Limit: 100}, {Name: "day", Period: 24 * time.Hour, Limit: 250}}

	ok, states, _ := q.Check("c", windows)
	if !ok || states[0].Remaining() != 100 || !states[0].Reset.Equal(time.Date(2025, 3, 1, 10, 1, 0, 0, time.UTC)) {
		t.Fatalf("fresh: ok=%v states=%+v", ok, states)
	}
	q.Charge("c", windows, 60)
	if ok, states, _ := q.Check("c", windows); !ok || states[0].Remaining() != 40 || states[1].Remaining() != 190 {
		t.Fatalf("after 60: ok=%v states=%+v", ok, states)
	}
	q.Charge("c", windows, 60) // one call may overshoot
	ok, states, ex := q.Check("c", windows)
	if ok || ex.Name != "minute" || states[0].Remaining() != 0 || ex.Reset.Sub(now) != 30*time.Second {
		t.Fatalf("overshot: ok=%v exhausted=%+v", ok, ex)
	}
	if ok, _, _ := q.Check("other", windows); !ok {
		t.Fatal("another client shares the window")
	}

	now = now.Add(30 * time.Second) // the next minute
	if ok, states, _ := q.Check("c", windows); !ok || states[0].Used != 0 || states[1].Used != 120 {
		t.Fatalf("next minute: ok=%v states=%+v", ok, states)
	}
	q.Charge("c", windows, 130)
	ok, _, ex = q.Check("c", windows)
	if ok || ex.Name != "day" || !ex.Reset.Equal(time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("day used up: ok=%v exhausted=%+v", ok, ex)
	}
	now = time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)
	if ok, _, _ := q.Check("c", windows); !ok {
		t.Fatal("a new day restarts the day window")
	}
	q.Forget("c")
	if s := q.States("c", windows); s[1].Used != 0 {
		t.Fatalf("forgotten: %+v", s)
	}
}

func TestErrorBody(t *testing.T) {
	b, _ := json.Marshal(ErrorBody(OpenAI, 403, "model_not_allowed", "no"))
	if string(b) != `{"error":{"message":"no","type":"permission_error","param":null,"code":"model_not_allowed"}}` {
		t.Errorf("OpenAI: %s", b)
	}
	b, _ = json.Marshal(ErrorBody(Anthropic, 429, "token_quota_exhausted", "later"))
	if string(b) != `{"type":"error","error":{"type":"rate_limit_error","message":"later"}}` {
		t.Errorf("Anthropic: %s", b)
	}
}
