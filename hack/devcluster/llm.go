package main

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/scopegate/scopegate/internal/llm/llmtest"
)

// startStandInLLM serves the stand-in model provider (internal/llm/llmtest)
// behind the sample GatewayRoute models: it speaks the OpenAI-compatible
// and the Anthropic Messages wire formats, streaming and not, with usage
// as each provider reports it, but runs no model. Every answer is the same
// sentence naming the model asked for. It is a stand-in for trying LLM
// routes locally, not a provider.
func startStandInLLM(addr string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the stand-in LLM provider on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: llmtest.New(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	say("Stand-in LLM provider (no model: fixed answers in both wire formats) listening on http://%s", addr)
	return srv, nil
}
