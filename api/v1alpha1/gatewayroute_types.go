package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Protocol is what a route carries; it selects the default audience and the
// protocol-specific handling (MCP sessions, A2A agent cards).
// +kubebuilder:validation:Enum=HTTP;MCP;A2A;LLM
type Protocol string

// Protocols.
const (
	ProtocolHTTP Protocol = "HTTP"
	ProtocolMCP  Protocol = "MCP"
	ProtocolA2A  Protocol = "A2A"
	// ProtocolLLM routes model calls to providers (spec.llm).
	ProtocolLLM Protocol = "LLM"
)

// ScopeMatch says how requiredScopes combine.
// +kubebuilder:validation:Enum=Any;All
type ScopeMatch string

// Scope matches.
const (
	ScopeMatchAny ScopeMatch = "Any"
	ScopeMatchAll ScopeMatch = "All"
)

// GatewayRouteSpec declares one route through the embedded gateway.
//
// +kubebuilder:validation:XValidation:rule="!has(self.mcp) || self.protocol == 'MCP'",message="mcp is allowed only on routes with protocol MCP",fieldPath=".mcp"
// +kubebuilder:validation:XValidation:rule="!has(self.a2a) || self.protocol == 'A2A'",message="a2a is allowed only on routes with protocol A2A",fieldPath=".a2a"
// +kubebuilder:validation:XValidation:rule="!has(self.llm) || self.protocol == 'LLM'",message="llm is allowed only on routes with protocol LLM",fieldPath=".llm"
// +kubebuilder:validation:XValidation:rule="self.protocol != 'LLM' || !has(self.allowAnonymous) || !self.allowAnonymous",message="a route with protocol LLM cannot allow anonymous requests: its governance is per client",fieldPath=".allowAnonymous"
// +kubebuilder:validation:XValidation:rule="self.protocol != 'LLM' || has(self.llm)",message="a route with protocol LLM needs spec.llm (its providers and models)",fieldPath=".llm"
type GatewayRouteSpec struct {
	// pathPrefix is the path this route serves, unique across the cluster;
	// it matches on path-segment boundaries after path cleaning. /admin/v1
	// is reserved for the gateway's admin API.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="pathPrefix must start with '/'"
	// +kubebuilder:validation:XValidation:rule="!self.contains('..')",message="pathPrefix must not contain '..'"
	// +kubebuilder:validation:XValidation:rule="!self.contains('//')",message="pathPrefix must not contain '//'"
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9._~!$&()*+,;=:@%/-]*$')",message="pathPrefix may hold only URL path characters (no spaces, '?' or '#')"
	// +kubebuilder:validation:XValidation:rule="self != '/admin/v1' && !self.startsWith('/admin/v1/')",message="pathPrefix must not be under /admin/v1, where the gateway serves its admin API"
	PathPrefix string `json:"pathPrefix"`

	// protocol is HTTP (default), MCP, A2A or LLM.
	// +optional
	// +kubebuilder:default=HTTP
	Protocol Protocol `json:"protocol,omitempty"`

	// backend is where allowed requests go.
	// +required
	Backend Backend `json:"backend"`

	// requiredScopes are the scopes a token must hold (see scopeMatch); a held
	// built-in scope of a higher level satisfies a lower one, and admin
	// satisfies any.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	RequiredScopes []Scope `json:"requiredScopes,omitempty"`

	// scopeMatch is Any (default: one of requiredScopes suffices) or All.
	// +optional
	// +kubebuilder:default=Any
	ScopeMatch ScopeMatch `json:"scopeMatch,omitempty"`

	// audiences: the token's aud must hold one of them. Empty means the
	// protocol's default audience (api, mcp, a2a) or the route's resource URL
	// (<gateway-url><pathPrefix>).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	Audiences []Audience `json:"audiences,omitempty"`

	// rateLimit is enforced per client on this route (per source address on
	// anonymous requests).
	// +optional
	RateLimit *RateLimit `json:"rateLimit,omitempty"`

	// allowAnonymous lets requests without a token through.
	// +optional
	AllowAnonymous bool `json:"allowAnonymous,omitempty"`

	// requireDPoP, when true, accepts only DPoP-bound tokens (RFC 9449,
	// cnf.jkt) sent with a proof: a bearer token is refused (401,
	// dpop_required), and the route's resource metadata says
	// dpop_bound_access_tokens_required. Any client may get such tokens;
	// an OAuthClient's token Secret holds a bearer token, refused here.
	// With allowAnonymous, requests without a token still pass.
	// +optional
	RequireDPoP bool `json:"requireDPoP,omitempty"`

	// timeout bounds each request to the backend; 0 means no limit. Defaults
	// to 60s for HTTP routes and to no limit for MCP and A2A routes, whose
	// responses are long-lived streams.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('24h')",message="timeout must be between 0s and 24h"
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// mcp governs an MCP route's tools, prompts and resources one by one
	// (only with protocol MCP). Without it every item behind the route is
	// open to any token the route accepts, and the gateway never reads a
	// request body.
	// +optional
	MCP *MCPPolicy `json:"mcp,omitempty"`

	// a2a governs an A2A route's JSON-RPC methods one by one (only with
	// protocol A2A).
	// +optional
	A2A *A2APolicy `json:"a2a,omitempty"`

	// llm declares the model providers of an LLM route (only with protocol
	// LLM): the route serves the OpenAI-compatible and Anthropic Messages
	// APIs under pathPrefix, sends each call to the provider its model
	// routes to, with the provider's key from a Secret, and meters the
	// tokens it used.
	// +optional
	LLM *LLMPolicy `json:"llm,omitempty"`
}

// Backend is the upstream of a route: a Service in the route's namespace or a
// fixed URL, exactly one of them.
//
// +kubebuilder:validation:XValidation:rule="has(self.service) != has(self.url)",message="exactly one of backend.service or backend.url must be set"
type Backend struct {
	// service is a Service in the route's namespace; requests go round-robin
	// to its ready endpoints (from EndpointSlices).
	// +optional
	Service *ServiceBackend `json:"service,omitempty"`

	// url is a fixed http or https base URL.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && (self.startsWith('http://') || self.startsWith('https://'))",message="url must be an absolute http or https URL"
	URL string `json:"url,omitempty"`

	// path replaces pathPrefix in the forwarded request. Defaults to "/".
	// +optional
	// +kubebuilder:default="/"
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="path must start with '/'"
	// +kubebuilder:validation:XValidation:rule="!self.contains('..')",message="path must not contain '..'"
	Path string `json:"path,omitempty"`

	// tls configures how an https backend (an https url, or a Service port
	// with appProtocol https) is verified: always against the system roots,
	// plus the CA bundle named here. Certificate verification cannot be
	// turned off.
	// +optional
	TLS *BackendTLS `json:"tls,omitempty"`
}

// BackendTLS names extra roots for verifying a backend's certificate.
type BackendTLS struct {
	// caSecretRef is a Secret in the route's namespace whose key (default
	// ca.crt) holds PEM CA certificates trusted for this backend, in
	// addition to the system roots.
	// +optional
	CASecretRef *SecretKeySelector `json:"caSecretRef,omitempty"`
}

// SecretKeySelector names a key of a Secret in the same namespace.
type SecretKeySelector struct {
	// name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key in the Secret's data. Defaults to ca.crt.
	// +optional
	// +kubebuilder:default="ca.crt"
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key,omitempty"`
}

// ServiceBackend names a Service port.
type ServiceBackend struct {
	// name of the Service, in the route's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// port is the Service port number.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`
}

// GatewayRouteStatus is the observed state of a GatewayRoute.
type GatewayRouteStatus struct {
	// observedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Accepted, BackendResolved, ScopesSatisfiable, Reachable,
	// Ready, and ItemRulesSatisfiable on a route with item rules.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// url is the route's public URL: <gateway-url><pathPrefix>.
	// +optional
	URL string `json:"url,omitempty"`

	// readyEndpoints is how many backend endpoints receive traffic.
	// +optional
	ReadyEndpoints int32 `json:"readyEndpoints,omitempty"`

	// authorizedClients is how many OAuthClients, not suspended, may hold a
	// token that this route accepts: scopes that satisfy requiredScopes and
	// an audience the route accepts.
	// +optional
	AuthorizedClients int32 `json:"authorizedClients"`

	// itemRules is how many item rules the gateway applies to this route:
	// spec.mcp.rules on an MCP route, spec.a2a.rules on an A2A route.
	// +optional
	ItemRules int32 `json:"itemRules,omitempty"`

	// unsatisfiableItemRules are the indexes (from 0) of the item rules no
	// OAuthClient can satisfy: none that reaches the route (see
	// authorizedClients) may also hold scopes that satisfy the rule's
	// requiredScopes, so the rule's items are refused to every caller. The
	// ItemRulesSatisfiable condition says the same in words.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=128
	UnsatisfiableItemRules []int32 `json:"unsatisfiableItemRules,omitempty"`
}

// GatewayRoute declares a route through the embedded gateway: a path prefix,
// a backend, and the scopes, audiences and rate limits that govern it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=gwr,categories=scopegate
// +kubebuilder:printcolumn:name="Prefix",type=string,JSONPath=`.spec.pathPrefix`
// +kubebuilder:printcolumn:name="Protocol",type=string,JSONPath=`.spec.protocol`
// +kubebuilder:printcolumn:name="Accepted",type=string,JSONPath=`.status.conditions[?(@.type=="Accepted")].status`
// +kubebuilder:printcolumn:name="Backend",type=string,JSONPath=`.status.conditions[?(@.type=="BackendResolved")].status`
// +kubebuilder:printcolumn:name="Clients",type=integer,JSONPath=`.status.authorizedClients`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type GatewayRoute struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired route.
	// +required
	Spec GatewayRouteSpec `json:"spec"`

	// status is the observed state.
	// +optional
	Status GatewayRouteStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// GatewayRouteList is a list of GatewayRoutes.
type GatewayRouteList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GatewayRoute `json:"items"`
}

func init() {
	SchemeBuilder.Register(&GatewayRoute{}, &GatewayRouteList{})
}
