package v1alpha1

// ScopePattern is what one scope must look like (SPEC §3): a built-in
// permission, or a custom scope such as "mcp:github:read". The built-ins
// hook:govern and hook:track already match the custom form.
const ScopePattern = `^(admin|user|service|a2a|mcp|anonymous|[a-z][a-z0-9_.-]*(:[a-zA-Z0-9_./*-]+)+)$`

// Scope is one OAuth 2.0 scope token (RFC 6749 §3.3).
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=128
// +kubebuilder:validation:Pattern=`^(admin|user|service|a2a|mcp|anonymous|[a-z][a-z0-9_.-]*(:[a-zA-Z0-9_./*-]+)+)$`
type Scope string

// Audience is one value of a token's aud claim: a short name such as "mcp" or
// an absolute URI (RFC 8707 resource indicator).
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:Pattern=`^[^\s]+$`
type Audience string

// RateLimit is a token bucket: a steady rate and the size of bursts above it.
type RateLimit struct {
	// requestsPerSecond is the steady rate at which the bucket refills.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	RequestsPerSecond int32 `json:"requestsPerSecond"`

	// burst is the bucket size: how many requests may arrive at once. Defaults
	// to requestsPerSecond.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000000
	Burst int32 `json:"burst,omitempty"`
}

// EffectiveBurst is spec.burst, or requestsPerSecond when burst is unset.
func (r RateLimit) EffectiveBurst() int {
	if r.Burst > 0 {
		return int(r.Burst)
	}
	return int(r.RequestsPerSecond)
}
