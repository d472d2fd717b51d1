package main

import (
	"net/http"
	"strings"
	"time"

	"github.com/scopegate/scopegate/internal/llm/llmtest"
)

// llmMark is where the upstream's model provider starts in a path: the
// plain proxy and the LLM route both reach /echo/llm/v1/..., which the
// stand-in serves as /v1/....
const llmMark = "/llm/v1/"

// newLLMServer is the stand-in model provider of internal/llm/llmtest,
// the one `make run` and the end-to-end suite use. It records every call
// for its tests; under load that record only grows, so it is forgotten
// every second.
func newLLMServer() *llmtest.Provider {
	p := llmtest.New()
	go func() {
		for range time.Tick(time.Second) {
			p.Reset()
		}
	}()
	return p
}

// serveLLM answers a path with llmMark from the stand-in, under the path
// from /v1/ on; it reports false for any other path.
func (u upstream) serveLLM(w http.ResponseWriter, r *http.Request) bool {
	_, rest, ok := strings.Cut(r.URL.Path, llmMark)
	if !ok || u.llm == nil {
		return false
	}
	r.URL.Path, r.URL.RawPath = "/v1/"+rest, ""
	u.llm.ServeHTTP(w, r)
	return true
}
