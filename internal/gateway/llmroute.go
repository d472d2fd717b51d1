package gateway

import (
	"net/url"
	"sync/atomic"

	"github.com/scopegate/scopegate/internal/llm"
)

// LLMRoute is an LLM route's providers and model routes, as the
// GatewayRoute controller resolved them (spec.llm).
type LLMRoute struct {
	Providers []*LLMProvider
	// Models route a model to a provider: the first whose pattern
	// matches.
	Models []llm.ModelRoute
}

// LLMProvider is one provider of an LLM route.
type LLMProvider struct {
	Name   string
	Format llm.Format
	// Endpoints are scheme and host of the provider's upstream; none means
	// 503.
	Endpoints []*url.URL
	// Path is the base path the API's path (/v1/...) is appended to.
	Path string
	// TLS verifies an https upstream beyond the defaults.
	TLS *BackendTLS
	// Key is the provider's API key from its Secret; "" when the Secret
	// cannot be read, and then the provider is never called.
	Key string
	// KeyError says why Key is empty (no secret in it), for explain.
	KeyError string
	next     atomic.Uint64
}

// provider finds a provider by name.
func (l *LLMRoute) provider(name string) *LLMProvider {
	for _, p := range l.Providers {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// pick returns the provider's next endpoint round-robin, nil when none.
func (p *LLMProvider) pick() *url.URL {
	switch len(p.Endpoints) {
	case 0:
		return nil
	case 1:
		return p.Endpoints[0]
	}
	return p.Endpoints[(p.next.Add(1)-1)%uint64(len(p.Endpoints))]
}

// route resolves model to its model route (for the metric's model label)
// and target.
func (l *LLMRoute) route(model string) (llm.ModelRoute, llm.Target, bool) {
	for _, mr := range l.Models {
		if llm.Match(mr.Match, model) {
			t, _ := llm.Router{Routes: []llm.ModelRoute{mr}}.Resolve(model)
			return mr, t, model != ""
		}
	}
	return llm.ModelRoute{}, llm.Target{}, false
}
