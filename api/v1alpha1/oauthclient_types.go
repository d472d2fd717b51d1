package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GrantType is an OAuth 2.0 grant type the client may use.
// +kubebuilder:validation:Enum=client_credentials;"urn:ietf:params:oauth:grant-type:token-exchange"
type GrantType string

const (
	// GrantTypeClientCredentials is RFC 6749 §4.4.
	GrantTypeClientCredentials GrantType = "client_credentials"
	// GrantTypeTokenExchange is RFC 8693: a bound ServiceAccount's projected
	// token is exchanged for an access token of this client.
	GrantTypeTokenExchange GrantType = "urn:ietf:params:oauth:grant-type:token-exchange"
)

// ClientAuthentication is how a client proves its identity at the token
// endpoint.
// +kubebuilder:validation:Enum=secret;serviceAccountToken
type ClientAuthentication string

const (
	// ClientAuthenticationSecret: a client secret in the credentials Secret
	// (client_secret_basic or client_secret_post). Bound ServiceAccounts may
	// authenticate as well.
	ClientAuthenticationSecret ClientAuthentication = "secret"
	// ClientAuthenticationServiceAccountToken: no client secret exists; only
	// the projected tokens of spec.serviceAccounts authenticate the client
	// (RFC 7523 client assertion or RFC 8693 token exchange).
	ClientAuthenticationServiceAccountToken ClientAuthentication = "serviceAccountToken"
)

// ServiceAccountRef names a ServiceAccount in the client's namespace.
type ServiceAccountRef struct {
	// name of the ServiceAccount.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="serviceAccounts[].name must be a lowercase DNS subdomain (a ServiceAccount name)"
	Name string `json:"name"`
}

// OAuthClientSpec declares a machine client of the token server.
//
// +kubebuilder:validation:XValidation:rule="!has(self.clientAuthentication) || self.clientAuthentication != 'serviceAccountToken' || (has(self.serviceAccounts) && size(self.serviceAccounts) > 0)",message="clientAuthentication serviceAccountToken needs at least one entry in serviceAccounts",fieldPath=".serviceAccounts"
// +kubebuilder:validation:XValidation:rule="!has(self.grantTypes) || !self.grantTypes.exists(g, g == 'urn:ietf:params:oauth:grant-type:token-exchange') || (has(self.serviceAccounts) && size(self.serviceAccounts) > 0)",message="grantTypes token-exchange needs at least one entry in serviceAccounts",fieldPath=".grantTypes"
// +kubebuilder:validation:XValidation:rule="!has(self.tokenSecret) || !has(self.tokenSecret.scopes) || self.tokenSecret.scopes.all(s, s in self.scopes)",message="tokenSecret.scopes must be a subset of scopes",fieldPath=".tokenSecret.scopes"
// +kubebuilder:validation:XValidation:rule="!has(self.tokenSecret) || !has(self.tokenSecret.audiences) || !has(self.audiences) || size(self.audiences) == 0 || self.tokenSecret.audiences.all(a, a in self.audiences)",message="tokenSecret.audiences must be a subset of audiences",fieldPath=".tokenSecret.audiences"
// +kubebuilder:validation:XValidation:rule="!has(self.tokenSecret) || !has(self.tokenSecret.renewBefore) || has(self.tokenSecret.duration) || !has(self.accessTokenTTL) || duration(self.tokenSecret.renewBefore) < duration(self.accessTokenTTL)",message="tokenSecret.renewBefore must be shorter than the token lifetime (accessTokenTTL)",fieldPath=".tokenSecret.renewBefore"
// +kubebuilder:validation:XValidation:rule="!has(self.requireDPoP) || !self.requireDPoP || !has(self.tokenSecret)",message="requireDPoP cannot be combined with tokenSecret: the token Secret holds a bearer token",fieldPath=".requireDPoP"
// +kubebuilder:validation:XValidation:rule="!has(self.tlsClientCertificate) || !has(self.tlsClientAuth) || !self.tlsClientAuth",message="tlsClientAuth (a certificate from scopegate's CA) and tlsClientCertificate (a certificate from a referenced CA) cannot both be set: a client trusts one CA",fieldPath=".tlsClientCertificate"
type OAuthClientSpec struct {
	// scopes are the scopes this client may be granted: built-in permissions
	// (admin, user, service, a2a, mcp, hook:govern, hook:track, anonymous) or
	// custom scopes such as "mcp:github:read".
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Scopes []Scope `json:"scopes"`

	// audiences is the allow-list for the aud claim of this client's tokens.
	// Empty means any audience.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	Audiences []Audience `json:"audiences,omitempty"`

	// grantTypes are the grant types this client may use.
	// +optional
	// +listType=set
	// +kubebuilder:default={client_credentials}
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=4
	GrantTypes []GrantType `json:"grantTypes,omitempty"`

	// accessTokenTTL is the lifetime of this client's access tokens, between
	// 60s and 24h. Defaults to the manager's --access-token-ttl.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('60s') && duration(self) <= duration('24h')",message="accessTokenTTL must be between 60s and 24h"
	AccessTokenTTL *metav1.Duration `json:"accessTokenTTL,omitempty"`

	// pluginID becomes the plugin_id claim. When set, a token request naming a
	// different plugin_id is refused.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9_.-]*$`
	PluginID string `json:"pluginID,omitempty"`

	// suspended, when true, makes token requests fail and the client's issued
	// tokens be rejected by introspection and the gateway.
	// +optional
	Suspended bool `json:"suspended,omitempty"`

	// credentialsSecretName is the Secret that receives client_id,
	// client_secret, token_url and issuer. Defaults to <name>-credentials.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	CredentialsSecretName string `json:"credentialsSecretName,omitempty"`

	// rateLimit is enforced per client at the gateway, across all routes.
	// +optional
	RateLimit *RateLimit `json:"rateLimit,omitempty"`

	// clientAuthentication is how the client authenticates: secret (a client
	// secret in the credentials Secret, the default) or serviceAccountToken
	// (no client secret exists; pods authenticate with the projected tokens
	// of serviceAccounts).
	// +optional
	// +kubebuilder:default=secret
	ClientAuthentication ClientAuthentication `json:"clientAuthentication,omitempty"`

	// serviceAccounts of the client's namespace whose projected tokens (with
	// the issuer as audience) authenticate as this client. A ServiceAccount
	// acts for one client only: when two clients name it, the older one
	// holds it and the other is not Ready.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	ServiceAccounts []ServiceAccountRef `json:"serviceAccounts,omitempty"`

	// tokenSecret, when set, makes the controller keep a fresh access token in
	// a Secret that pods can mount.
	// +optional
	TokenSecret *TokenSecretSpec `json:"tokenSecret,omitempty"`

	// requireDPoP, when true, makes the token endpoint refuse this client's
	// token requests that carry no DPoP proof (RFC 9449; the client metadata
	// dpop_bound_access_tokens of its §5.2), so that every token the client
	// obtains is bound to a key it holds (cnf.jkt). It cannot be combined
	// with tokenSecret, whose tokens are bearer tokens.
	// +optional
	RequireDPoP bool `json:"requireDPoP,omitempty"`

	// tlsClientAuth, when true, makes the controller keep a client
	// certificate signed by scopegate's own CA (the default TLS mode; the
	// other modes issue none; for a certificate from another CA see
	// tlsClientCertificate) in the credentials Secret (tls.crt, tls.key; renewed at two thirds of its
	// lifetime). Presented to the token endpoint it authenticates the
	// client (tls_client_auth, RFC 8705 §2.1), and the tokens obtained over
	// it are bound to it (cnf.x5t#S256, RFC 8705 §3): the gateway accepts
	// them only over a connection that presents the same certificate.
	// +optional
	TLSClientAuth bool `json:"tlsClientAuth,omitempty"`

	// tlsClientCertificate makes a client certificate issued elsewhere
	// (by cert-manager, a company PKI) authenticate the client at the token
	// endpoint (tls_client_auth, RFC 8705 §2.1) and bind the tokens
	// obtained over it (cnf.x5t#S256, RFC 8705 §3): the certificate must
	// chain to the CA bundle that ca names and carry the subject value
	// given here. It works in every --tls-mode but off. It cannot be
	// combined with tlsClientAuth: a client trusts one CA.
	// +optional
	TLSClientCertificate *TLSClientCertificate `json:"tlsClientCertificate,omitempty"`

	// llm governs the client's calls through LLM routes: the models it may
	// use, per-call token caps and token quotas. Without it the client may
	// call every model an LLM route it reaches routes, without caps.
	// +optional
	LLM *LLMAccess `json:"llm,omitempty"`
}

// TLSClientCertificate is RFC 8705 §2.1's PKI method with a CA the client
// references: the CA bundle, and the one certificate subject value of
// §2.1.2 (tls_client_auth_subject_dn, tls_client_auth_san_dns, _san_uri,
// _san_ip or _san_email) that the client's certificate carries.
//
// +kubebuilder:validation:XValidation:rule="[has(self.subjectDN), has(self.sanDNS), has(self.sanURI), has(self.sanIP), has(self.sanEmail)].filter(x, x).size() == 1",message="tlsClientCertificate needs exactly one of subjectDN, sanDNS, sanURI, sanIP and sanEmail (RFC 8705 §2.1.2)"
type TLSClientCertificate struct {
	// ca names the PEM CA bundle the client's certificate must chain to
	// (intermediates may be sent by the client in the TLS handshake).
	// +required
	CA CABundleReference `json:"ca"`

	// subjectDN is the subject distinguished name of the certificate in
	// RFC 4514's string form, the least significant RDN first, for
	// example "CN=reporter,O=Team A,C=DE" (tls_client_auth_subject_dn).
	// Attribute types are compared by OID, values ignoring case and
	// insignificant spaces.
	// +optional
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.matches(r'^\\s*([A-Za-z][A-Za-z0-9-]*|[0-9]+(\\.[0-9]+)+)\\s*=')",message="tlsClientCertificate.subjectDN must be an RFC 4514 distinguished name such as CN=reporter,O=Team A"
	SubjectDN string `json:"subjectDN,omitempty"`

	// sanDNS is a dNSName subject alternative name the certificate carries
	// (tls_client_auth_san_dns), compared ignoring case; a wildcard
	// matches only the same wildcard.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^(\*\.)?[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$`
	SANDNS string `json:"sanDNS,omitempty"`

	// sanURI is a uniformResourceIdentifier subject alternative name the
	// certificate carries (tls_client_auth_san_uri), such as a SPIFFE ID;
	// compared exactly.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() != ''",message="tlsClientCertificate.sanURI must be an absolute URI"
	SANURI string `json:"sanURI,omitempty"`

	// sanIP is an iPAddress subject alternative name the certificate
	// carries (tls_client_auth_san_ip), IPv4 or IPv6.
	// +optional
	// +kubebuilder:validation:MaxLength=45
	// +kubebuilder:validation:XValidation:rule="isIP(self)",message="tlsClientCertificate.sanIP must be an IPv4 or IPv6 address"
	SANIP string `json:"sanIP,omitempty"`

	// sanEmail is an rfc822Name subject alternative name the certificate
	// carries (tls_client_auth_san_email); the domain is compared ignoring
	// case.
	// +optional
	// +kubebuilder:validation:MaxLength=320
	// +kubebuilder:validation:Pattern=`^[^@\s]+@[^@\s]+$`
	SANEmail string `json:"sanEmail,omitempty"`
}

// CABundleReference names a PEM CA bundle in the object's namespace: a key
// of a Secret or of a ConfigMap (cert-manager writes ca.crt into the
// Secrets it issues; trust-manager writes bundles into ConfigMaps).
//
// +kubebuilder:validation:XValidation:rule="has(self.secretRef) != has(self.configMapRef)",message="tlsClientCertificate.ca needs exactly one of secretRef and configMapRef"
type CABundleReference struct {
	// secretRef is a Secret whose key (default ca.crt) holds the bundle.
	// +optional
	SecretRef *SecretKeySelector `json:"secretRef,omitempty"`

	// configMapRef is a ConfigMap whose key (default ca.crt) holds the
	// bundle.
	// +optional
	ConfigMapRef *ConfigMapKeySelector `json:"configMapRef,omitempty"`
}

// ConfigMapKeySelector names a key of a ConfigMap in the same namespace.
type ConfigMapKeySelector struct {
	// name of the ConfigMap.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key in the ConfigMap's data. Defaults to ca.crt.
	// +optional
	// +kubebuilder:default="ca.crt"
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key,omitempty"`
}

// TokenSecretSpec declares a Secret holding an access token that the
// controller renews before it expires.
//
// +kubebuilder:validation:XValidation:rule="!has(self.renewBefore) || !has(self.duration) || duration(self.renewBefore) < duration(self.duration)",message="renewBefore must be shorter than duration",fieldPath=".renewBefore"
type TokenSecretSpec struct {
	// name of the Secret. Defaults to <name>-token.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name,omitempty"`

	// scopes granted to the token; a subset of spec.scopes. Defaults to all of
	// spec.scopes.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	Scopes []Scope `json:"scopes,omitempty"`

	// audiences of the token. Defaults to the manager's --default-audiences.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	Audiences []Audience `json:"audiences,omitempty"`

	// duration is the token lifetime, between 60s and 24h. Defaults to
	// spec.accessTokenTTL.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('60s') && duration(self) <= duration('24h')",message="duration must be between 60s and 24h"
	Duration *metav1.Duration `json:"duration,omitempty"`

	// renewBefore is how long before expiry the token is renewed. Defaults to
	// a third of duration; the renewal is never later than 90s before expiry,
	// so that kubelet's Secret propagation cannot hand a pod an expired token.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s')",message="renewBefore must not be negative"
	RenewBefore *metav1.Duration `json:"renewBefore,omitempty"`

	// secretTemplate holds labels and annotations copied onto the Secret.
	// +optional
	SecretTemplate *SecretTemplate `json:"secretTemplate,omitempty"`
}

// SecretTemplate is metadata copied onto a generated Secret. Keys under
// scopegate.dev/ and app.kubernetes.io/managed-by belong to the controller.
type SecretTemplate struct {
	// labels to add to the Secret.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('scopegate.dev/') && k != 'app.kubernetes.io/managed-by')",message="secretTemplate.labels must not set scopegate.dev/ keys or app.kubernetes.io/managed-by"
	Labels map[string]string `json:"labels,omitempty"`

	// annotations to add to the Secret.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('scopegate.dev/'))",message="secretTemplate.annotations must not set scopegate.dev/ keys"
	Annotations map[string]string `json:"annotations,omitempty"`
}

// OAuthClientStatus is the observed state of an OAuthClient.
type OAuthClientStatus struct {
	// clientID is the OAuth client_id: <namespace>.<name>.
	// +optional
	ClientID string `json:"clientID,omitempty"`

	// observedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, CredentialsReady, TokenReady.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// credentials describes the credentials Secret.
	// +optional
	Credentials *CredentialsStatus `json:"credentials,omitempty"`

	// token describes the access token kept in the token Secret.
	// +optional
	Token *TokenStatus `json:"token,omitempty"`

	// failedIssuanceAttempts counts consecutive failures to issue the token
	// Secret; it drives the back-off and is reset by a success.
	// +optional
	FailedIssuanceAttempts int32 `json:"failedIssuanceAttempts,omitempty"`

	// lastFailureTime is when issuance last failed.
	// +optional
	LastFailureTime *metav1.Time `json:"lastFailureTime,omitempty"`

	// reachableRoutes are the GatewayRoutes whose required scopes and
	// audiences this client's allowed scopes and audiences satisfy (the
	// first 50 by namespace/name; reachableRouteCount counts them all).
	// Empty while the client is suspended.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	ReachableRoutes []RouteReference `json:"reachableRoutes,omitempty"`

	// reachableRouteCount is how many GatewayRoutes this client can reach.
	// +optional
	ReachableRouteCount int32 `json:"reachableRouteCount"`

	// unusedScopes are allowed scopes that no GatewayRoute requires and
	// that satisfy no scope a route requires: candidates to remove.
	// +optional
	// +listType=atomic
	UnusedScopes []string `json:"unusedScopes,omitempty"`

	// mcpTools says, for each MCP GatewayRoute this client reaches (the
	// first 50 by namespace/name), which tools its item rules let the
	// client call. Empty while the client is suspended.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	MCPTools []MCPToolAccess `json:"mcpTools,omitempty"`
}

// MCPToolAccess is what the tool rules of one MCP route (spec.mcp.rules)
// let a client call, judged from its allowed scopes as the gateway would
// judge a token holding all of them. The gateway sees tool names only in
// requests, so this lists the rules' names and globs, not the backend's
// tools. A tool matched by several rules is decided by the first, so a
// glob in allowedTools may exclude names that deniedTools lists, and the
// other way round.
type MCPToolAccess struct {
	// namespace of the GatewayRoute.
	Namespace string `json:"namespace"`
	// name of the GatewayRoute.
	Name string `json:"name"`

	// allowedTools are the tool names and globs, in rule order, whose rule
	// this client's scopes satisfy (the first 20; allowedToolCount counts
	// them all).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	AllowedTools []string `json:"allowedTools,omitempty"`

	// allowedToolCount is how many tool names and globs the rules allow.
	// +optional
	AllowedToolCount int32 `json:"allowedToolCount"`

	// deniedTools are the tool names and globs, in rule order, whose rule
	// this client's scopes do not satisfy (the first 20; deniedToolCount
	// counts them all).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	DeniedTools []string `json:"deniedTools,omitempty"`

	// deniedToolCount is how many tool names and globs the rules deny.
	// +optional
	DeniedToolCount int32 `json:"deniedToolCount"`

	// unlistedTools is what a tool no rule names gets: Allowed (the
	// route's scopes suffice, also on a route without rules) or Denied
	// (spec.mcp.unlisted: Deny).
	// +kubebuilder:validation:Enum=Allowed;Denied
	UnlistedTools ToolAccess `json:"unlistedTools"`
}

// ToolAccess is whether a client may call a tool.
type ToolAccess string

// Tool access values.
const (
	ToolAllowed ToolAccess = "Allowed"
	ToolDenied  ToolAccess = "Denied"
)

// RouteReference names a GatewayRoute and its path prefix.
type RouteReference struct {
	// namespace of the GatewayRoute.
	Namespace string `json:"namespace"`
	// name of the GatewayRoute.
	Name string `json:"name"`
	// pathPrefix of the GatewayRoute.
	PathPrefix string `json:"pathPrefix"`
}

// CredentialsStatus describes the credentials Secret of a client.
type CredentialsStatus struct {
	// secretName is the name of the credentials Secret.
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// rotation is the last value of the scopegate.dev/rotate-credentials
	// annotation that was acted upon.
	// +optional
	Rotation string `json:"rotation,omitempty"`

	// lastRotationTime is when the client secret was last generated.
	// +optional
	LastRotationTime *metav1.Time `json:"lastRotationTime,omitempty"`
}

// TokenStatus describes the access token in the token Secret.
type TokenStatus struct {
	// secretName is the name of the token Secret.
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// notBefore is when the current token was issued.
	// +optional
	NotBefore *metav1.Time `json:"notBefore,omitempty"`

	// notAfter is when the current token expires.
	// +optional
	NotAfter *metav1.Time `json:"notAfter,omitempty"`

	// renewalTime is when the controller will replace the token.
	// +optional
	RenewalTime *metav1.Time `json:"renewalTime,omitempty"`

	// revision counts issuances; it increments with every new token.
	// +optional
	Revision int64 `json:"revision,omitempty"`
}

// OAuthClient declares an OAuth 2.0 machine client: the scopes it may be
// granted, its credentials Secret and, optionally, a Secret with a fresh
// access token.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=oac,categories=scopegate
// +kubebuilder:validation:XValidation:rule="!has(self.spec.tokenSecret) || (has(self.spec.tokenSecret.name) ? self.spec.tokenSecret.name : self.metadata.name + '-token') != (has(self.spec.credentialsSecretName) ? self.spec.credentialsSecretName : self.metadata.name + '-credentials')",message="the token Secret must not have the credentials Secret's name",fieldPath=".spec.tokenSecret.name"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Client-ID",type=string,JSONPath=`.status.clientID`
// +kubebuilder:printcolumn:name="Scopes",type=string,JSONPath=`.spec.scopes`
// +kubebuilder:printcolumn:name="Routes",type=integer,JSONPath=`.status.reachableRouteCount`
// +kubebuilder:printcolumn:name="Token-Expires",type=string,JSONPath=`.status.token.notAfter`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type OAuthClient struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired client.
	// +required
	Spec OAuthClientSpec `json:"spec"`

	// status is the observed state.
	// +optional
	Status OAuthClientStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// OAuthClientList is a list of OAuthClients.
type OAuthClientList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []OAuthClient `json:"items"`
}

func init() {
	SchemeBuilder.Register(&OAuthClient{}, &OAuthClientList{})
}
