// Package llm owns the wire formats of LLM routes: which operation a request
// is (OpenAI-compatible chat completions, responses, embeddings and models,
// Anthropic messages and models), the model and output-token fields of a
// request body and their rewriting (model rename, output cap), model
// patterns and the routing of a model to a provider, the token usage of an
// answer — from a JSON body, or incrementally from a Server-Sent Events
// stream without holding it back — token quota windows on an injected
// clock, and errors in each provider's own error format.
//
// It is pure: no HTTP client, no Kubernetes, no clock of its own. The
// gateway (internal/gateway, llm*.go) wires it into its decision and proxy.
package llm
