package gateway

// Reason codes of the gateway's decisions: the decision log's reason, the
// reason label of scopegate_gateway_decisions_total, and explain's reason.
// Every code is in Reasons; the agreement test has a case for each.
const (
	// Allowed.
	ReasonAuthorized       = "authorized"
	ReasonAnonymous        = "anonymous"
	ReasonAgentCard        = "agent_card"
	ReasonCORSPreflight    = "cors_preflight"
	ReasonResourceMetadata = "resource_metadata"
	// ReasonBackendError is an allowed request whose backend failed or
	// timed out (502, 504): only the gateway's real answer can say so.
	ReasonBackendError = "backend_error"

	// Denied before a token is looked at.
	ReasonNoRoute                = "no_route"
	ReasonAmbiguousPath          = "ambiguous_path"
	ReasonMethodNotAllowed       = "method_not_allowed"
	ReasonMissingToken           = "missing_token"
	ReasonMalformedAuthorization = "malformed_authorization"

	// The token does not verify (401 invalid_token).
	ReasonBadSignature    = "bad_signature"
	ReasonExpired         = "expired"
	ReasonNotYetValid     = "not_yet_valid"
	ReasonForeignIssuer   = "foreign_issuer"
	ReasonInvalidToken    = "invalid_token"
	ReasonRevoked         = "revoked"
	ReasonClientDeleted   = "client_deleted"
	ReasonClientSuspended = "client_suspended"
	// A DPoP-bound token sent as a bearer token, and a DPoP presentation
	// that fails (no or a bad proof, a replay, another key, a token not
	// bound) (RFC 9449 §7).
	ReasonDPoPRequired     = "dpop_required"
	ReasonInvalidDPoPProof = "invalid_dpop_proof"
	// A token bound to a client certificate (RFC 8705 §3) over a
	// connection without that certificate.
	ReasonCertificateMismatch = "certificate_mismatch"

	// The token verifies but does not fit the route (403).
	ReasonInsufficientScope = "insufficient_scope"
	ReasonAudienceMismatch  = "audience_mismatch"

	// The JSON-RPC request does not fit the route's item rules
	// (GatewayRoute spec.mcp, spec.a2a): 403 challenge, or for a hidden
	// MCP item the JSON-RPC error of an unknown one (200).
	ReasonToolDenied     = "tool_denied"
	ReasonPromptDenied   = "prompt_denied"
	ReasonResourceDenied = "resource_denied"
	ReasonMethodDenied   = "method_denied"
	// The body of a route with item rules cannot be inspected: not
	// JSON-RPC (400), larger than --gateway-max-inspect-bytes (413), MCP
	// Mcp-Method/Mcp-Name headers that contradict it (400), or a protocol
	// upgrade whose messages the gateway would not see (400).
	ReasonJSONRPCInvalid    = "jsonrpc_invalid"
	ReasonBodyTooLarge      = "body_too_large"
	ReasonMCPHeaderMismatch = "mcp_header_mismatch"
	ReasonUpgradeRefused    = "upgrade_refused"

	ReasonRateLimited = "rate_limited"
	// The rate-limit store did not answer and the failure mode is closed
	// (503).
	ReasonRateLimitUnavailable = "rate_limit_unavailable"
	ReasonNoReadyEndpoints     = "no_ready_endpoints"

	// LLM routes (llmdecide.go), answered in the provider's error format:
	// GET /v1/models answered by the gateway (allowed); a model the client
	// may not use (403); a model no model route serves (404); an input
	// above the client's per-call cap (400); a used-up token quota (429);
	// a request that is no LLM operation or not a JSON object (400, 404,
	// 413); a provider whose key or upstream is missing (503).
	ReasonModelsListed        = "models_listed"
	ReasonModelNotAllowed     = "model_not_allowed"
	ReasonModelNotFound       = "model_not_found"
	ReasonInputTokensExceeded = "input_tokens_exceeded"
	ReasonTokenQuotaExhausted = "token_quota_exhausted"
	ReasonLLMRequestInvalid   = "llm_request_invalid"
	ReasonProviderUnavailable = "provider_unavailable"
)

// Reasons lists every reason code.
var Reasons = []string{
	ReasonAuthorized, ReasonAnonymous, ReasonAgentCard, ReasonCORSPreflight, ReasonResourceMetadata, ReasonBackendError,
	ReasonNoRoute, ReasonAmbiguousPath, ReasonMethodNotAllowed, ReasonMissingToken, ReasonMalformedAuthorization,
	ReasonBadSignature, ReasonExpired, ReasonNotYetValid, ReasonForeignIssuer, ReasonInvalidToken,
	ReasonRevoked, ReasonClientDeleted, ReasonClientSuspended, ReasonDPoPRequired, ReasonInvalidDPoPProof,
	ReasonCertificateMismatch,
	ReasonInsufficientScope, ReasonAudienceMismatch,
	ReasonToolDenied, ReasonPromptDenied, ReasonResourceDenied, ReasonMethodDenied,
	ReasonJSONRPCInvalid, ReasonBodyTooLarge, ReasonMCPHeaderMismatch, ReasonUpgradeRefused,
	ReasonRateLimited, ReasonRateLimitUnavailable, ReasonNoReadyEndpoints,
	ReasonModelsListed, ReasonModelNotAllowed, ReasonModelNotFound, ReasonInputTokensExceeded,
	ReasonTokenQuotaExhausted, ReasonLLMRequestInvalid, ReasonProviderUnavailable,
}
