package llm

import (
	"strings"
	"testing"
)

// benchRequest is a chat completion with a prompt worth skipping: the
// fields the gateway reads sit after and before the messages.
var benchRequest = []byte(`{"model":"gpt-4o","messages":[{"role":"system","content":"You are terse."},` +
	`{"role":"user","content":"` + strings.Repeat(`say \"hi\" {[]} `, 64) + `"}],` +
	`"stream":true,"stream_options":{"include_usage":false},"max_tokens":4096}`)

// benchAnswer is a chat completion answer with its usage after the text.
var benchAnswer = []byte(`{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,` +
	`"message":{"role":"assistant","content":"` + strings.Repeat(`hello \"world\" `, 64) + `"},"finish_reason":"stop"}],` +
	`"usage":{"prompt_tokens":120,"completion_tokens":64,"total_tokens":184}}`)

// BenchmarkParseRequest reads the model, stream flag and output limit of
// a request body.
func BenchmarkParseRequest(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		r, err := ParseRequest(ChatCompletions, benchRequest)
		if err != nil || r.Model != "gpt-4o" || r.MaxOutput != 4096 || !r.Stream {
			b.Fatalf("ParseRequest = %+v, %v", r, err)
		}
	}
}

// BenchmarkApply rewrites the request body the way a model route with an
// output cap on a streamed chat completion does: model, both output
// limits and stream_options.include_usage (the splice path).
func BenchmarkApply(b *testing.B) {
	req, err := ParseRequest(ChatCompletions, benchRequest)
	if err != nil {
		b.Fatal(err)
	}
	rw := Rewrite{Model: "upstream-model", MaxOutput: 256, IncludeUsage: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rw.Apply(ChatCompletions, req, benchRequest); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseUsage reads the usage of an answer body.
func BenchmarkParseUsage(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		u, ok := ParseUsage(benchAnswer)
		if !ok || u.Input != 120 || u.Output != 64 {
			b.Fatalf("ParseUsage = %+v, %v", u, ok)
		}
	}
}
