package llm

import (
	"net/http"
	"strings"
)

// Format is a provider's wire format, spelled as in a GatewayRoute's
// spec.llm.providers[].format.
type Format string

// Wire formats.
const (
	// OpenAI is the OpenAI-compatible API: /v1/chat/completions,
	// /v1/responses, /v1/embeddings, /v1/models; the key is sent as
	// Authorization: Bearer.
	OpenAI Format = "OpenAI"
	// Anthropic is the Anthropic Messages API: /v1/messages, /v1/models;
	// the key is sent as x-api-key with an anthropic-version.
	Anthropic Format = "Anthropic"
)

// Operation is what an LLM request asks for.
type Operation string

// Operations.
const (
	ChatCompletions Operation = "chat"
	Responses       Operation = "responses"
	Embeddings      Operation = "embeddings"
	Messages        Operation = "messages"
	ListModels      Operation = "models"
)

// Call is a classified request: the format it speaks and its operation.
type Call struct {
	Format    Format
	Operation Operation
}

// Classify tells which format and operation a request is, from its method,
// its path below the route's prefix (e.g. /v1/chat/completions) and its
// header. GET /v1/models is Anthropic's when the request carries an
// anthropic-version header (every Anthropic SDK sends one) and OpenAI's
// otherwise. ok is false for anything else: the route serves only these.
func Classify(method, path string, h http.Header) (c Call, ok bool) {
	path = strings.TrimSuffix(path, "/")
	switch {
	case method == http.MethodPost && path == "/v1/chat/completions":
		return Call{OpenAI, ChatCompletions}, true
	case method == http.MethodPost && path == "/v1/responses":
		return Call{OpenAI, Responses}, true
	case method == http.MethodPost && path == "/v1/embeddings":
		return Call{OpenAI, Embeddings}, true
	case method == http.MethodPost && path == "/v1/messages":
		return Call{Anthropic, Messages}, true
	case method == http.MethodGet && path == "/v1/models":
		if h.Get("Anthropic-Version") != "" {
			return Call{Anthropic, ListModels}, true
		}
		return Call{OpenAI, ListModels}, true
	}
	return Call{}, false
}

// ValidFormat reports whether f is a known format.
func ValidFormat(f Format) bool { return f == OpenAI || f == Anthropic }

// AnthropicVersion is sent upstream to an Anthropic provider when the
// caller sent none.
const AnthropicVersion = "2023-06-01"

// SetKey sets a provider key on an upstream request header the way the
// format wants it: Authorization: Bearer for OpenAI, x-api-key (and an
// anthropic-version when missing) for Anthropic. The caller's own
// credentials must already be gone; SetKey removes both spellings first.
func SetKey(h http.Header, f Format, key string) {
	h.Del("Authorization")
	h.Del("X-Api-Key")
	switch f {
	case Anthropic:
		h.Set("X-Api-Key", key)
		if h.Get("Anthropic-Version") == "" {
			h.Set("Anthropic-Version", AnthropicVersion)
		}
	default:
		h.Set("Authorization", "Bearer "+key)
	}
}
