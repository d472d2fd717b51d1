package v1alpha1

// LLMFormat is a provider's wire format.
// +kubebuilder:validation:Enum=OpenAI;Anthropic
type LLMFormat string

// LLM wire formats.
const (
	// LLMFormatOpenAI: /v1/chat/completions, /v1/responses, /v1/embeddings,
	// /v1/models; the key goes as Authorization: Bearer.
	LLMFormatOpenAI LLMFormat = "OpenAI"
	// LLMFormatAnthropic: /v1/messages, /v1/models; the key goes as
	// x-api-key.
	LLMFormatAnthropic LLMFormat = "Anthropic"
)

// LLMPolicy is the providers and model routes of an LLM route.
//
// +kubebuilder:validation:XValidation:rule="self.models.all(m, self.providers.exists(p, p.name == m.provider))",message="every models[].provider must name one of providers[].name",fieldPath=".models"
type LLMPolicy struct {
	// providers are the upstreams the route's calls go to.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Providers []LLMProvider `json:"providers"`

	// models routes a model to a provider: the first entry whose match
	// fits the request's model wins. A model no entry matches is refused
	// (404 model_not_found).
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=128
	Models []LLMModelRoute `json:"models"`
}

// LLMProvider is one model provider.
type LLMProvider struct {
	// name identifies the provider in models[].provider, metrics and
	// status.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// format is the provider's wire format, OpenAI (OpenAI-compatible) or
	// Anthropic. A call reaches only a provider of its own format: the
	// gateway does not translate.
	// +required
	Format LLMFormat `json:"format"`

	// backend is the provider's upstream (a Service or an http(s) URL whose
	// path is the API's base, e.g. https://api.openai.com). Defaults to the
	// route's spec.backend.
	// +optional
	Backend *Backend `json:"backend,omitempty"`

	// apiKeySecretRef names the Secret key (in the route's namespace) that
	// holds the provider's API key. The gateway sends it upstream
	// (Authorization: Bearer for OpenAI, x-api-key for Anthropic) instead
	// of the caller's token. The Secret is watched (it needs no label): a
	// rotated key takes effect within seconds, without a restart. While it
	// cannot be read the provider is not called and the route is not Ready.
	// +required
	APIKeySecretRef LLMKeySelector `json:"apiKeySecretRef"`
}

// LLMKeySelector names a key of a Secret in the route's namespace.
type LLMKeySelector struct {
	// name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key in the Secret's data. Defaults to apiKey.
	// +optional
	// +kubebuilder:default="apiKey"
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key,omitempty"`
}

// LLMModelRoute sends the models matching a pattern to a provider.
type LLMModelRoute struct {
	// match is a model name, or a pattern where '*' stands for any
	// characters ("gpt-4o*", "claude-*", "*").
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._:/@*+-]+$`
	Match string `json:"match"`

	// provider is the name of the provider the models go to.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Provider string `json:"provider"`

	// upstreamModel, when set, is the model name sent to the provider
	// instead of the one asked for (the caller still asks, and is
	// governed, by its own name).
	// +optional
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._:/@+-]+$`
	UpstreamModel string `json:"upstreamModel,omitempty"`
}

// LLMAccess governs an OAuthClient's calls through LLM routes.
type LLMAccess struct {
	// allowedModels are the models the client may call, as names or
	// patterns ('*' stands for any characters; ["*"] allows every model a
	// route routes). Another model is refused with 403 model_not_allowed,
	// and GET /v1/models lists only these.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9._:/@*+-]+$`
	AllowedModels []string `json:"allowedModels"`

	// maxInputTokensPerCall refuses (400) a call whose input is estimated
	// above it: one token per 4 bytes of request body, rounded up (the
	// gateway has no tokenizer).
	// +optional
	// +kubebuilder:validation:Minimum=1
	MaxInputTokensPerCall *int64 `json:"maxInputTokensPerCall,omitempty"`

	// maxOutputTokensPerCall caps each call's output: a request that names
	// no output limit (max_tokens, max_completion_tokens,
	// max_output_tokens) or a larger one is sent with this one (clamped,
	// not refused).
	// +optional
	// +kubebuilder:validation:Minimum=1
	MaxOutputTokensPerCall *int64 `json:"maxOutputTokensPerCall,omitempty"`

	// tokenQuota limits the tokens the client uses per window, across every
	// LLM route.
	// +optional
	TokenQuota *TokenQuota `json:"tokenQuota,omitempty"`
}

// TokenQuota counts input and output tokens together, as the provider
// reported them, in fixed windows aligned on UTC (each minute from :00,
// each day from 00:00). A call is refused (429 token_quota_exhausted, with
// Retry-After until the window restarts) when a window is used up; a call
// admitted is charged what it used, so one call may go past the quota.
// Counts are kept per gateway replica.
//
// +kubebuilder:validation:XValidation:rule="has(self.perMinute) || has(self.perDay)",message="tokenQuota needs perMinute or perDay"
type TokenQuota struct {
	// perMinute is the tokens per minute.
	// +optional
	// +kubebuilder:validation:Minimum=1
	PerMinute *int64 `json:"perMinute,omitempty"`

	// perDay is the tokens per day (UTC).
	// +optional
	// +kubebuilder:validation:Minimum=1
	PerDay *int64 `json:"perDay,omitempty"`
}
