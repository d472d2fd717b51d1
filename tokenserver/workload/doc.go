// Package workload authenticates Kubernetes workloads by their projected
// ServiceAccount tokens, so that a pod can act as an OAuth client with no
// client secret anywhere (RFC 7523 client assertions and RFC 8693 token
// exchange at the token endpoint).
//
// A token is believed only when the Kubernetes TokenReview API says so, with
// the issuer as the required audience: the API server checks the signature,
// the expiry, the audience, and that the ServiceAccount (and the pod a token
// is bound to) still exists. A positive answer is cached by the token's
// SHA-256 until the token expires or for at most a minute, so a token of a
// deleted pod or ServiceAccount stops working within that minute; negative
// answers are not cached (the token server rate limits failures instead).
// Tokens without an expiry (legacy Secret-based ServiceAccount tokens) are
// refused before any review.
package workload

// The manager reviews tokens with its own identity.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
