package v1alpha1

// Per-item rules on MCP and A2A routes.
//
// Design choices:
//
//   - Rules are ordered and the first rule that names an item decides it,
//     as in a firewall: put exact names before globs ("delete_repo" before
//     "*"). A rule's scopes are required in addition to the route's own
//     requiredScopes, which every request must satisfy first; a rule with
//     no requiredScopes opens its items to any token the route accepts
//     (useful before a broad rule, or with unlisted: Deny).
//   - Items are matched on what the JSON-RPC request names: tools/call's
//     params.name, prompts/get's params.name, resources/read's and
//     resources/(un)subscribe's params.uri, completion/complete's
//     params.ref; A2A on the request's method. Everything else (initialize,
//     ping, notifications, the list methods) needs only the route's
//     scopes; list answers are filtered to the items the caller may use
//     (a resource template to those whose every expansion the caller may
//     read: see docs/reference.md).
//   - Tools match an exact name or a glob whose only wildcard is '*' (any
//     run of characters, none included); prompts match exact names;
//     resources match URI prefixes, compared byte for byte (no
//     normalisation: the backend sees the URI exactly as the gateway did).

// MCPPolicy governs the items of an MCP route.
type MCPPolicy struct {
	// rules are tried in order; the first that names an item decides what
	// it requires.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=128
	Rules []MCPRule `json:"rules,omitempty"`

	// unlisted is what an item no rule names gets: RouteScopes (default:
	// the route's own requiredScopes suffice) or Deny.
	// +optional
	// +kubebuilder:default=RouteScopes
	Unlisted UnlistedPolicy `json:"unlisted,omitempty"`

	// denialMode is how a refused tools/call, prompts/get or resources/read
	// is answered: Challenge (default) is HTTP 403 with WWW-Authenticate
	// error="insufficient_scope" naming the scopes needed (MCP 2025-11-25
	// authorization, scope challenge), so that a client can step up; Hide
	// is the JSON-RPC error a server gives for an unknown item (HTTP 200),
	// so that the item's existence is not revealed. List answers are
	// filtered in both modes.
	// +optional
	// +kubebuilder:default=Challenge
	DenialMode DenialMode `json:"denialMode,omitempty"`
}

// MCPRule names MCP items and the scopes they require.
//
// +kubebuilder:validation:XValidation:rule="has(self.tools) || has(self.prompts) || has(self.resources)",message="a rule must name at least one of tools, prompts or resources"
type MCPRule struct {
	// tools are tool names, exact or a glob with '*' ("github_*").
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9_./*-]+$`
	Tools []string `json:"tools,omitempty"`

	// prompts are prompt names, exact.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	// +kubebuilder:validation:items:Pattern=`^[^\s]+$`
	Prompts []string `json:"prompts,omitempty"`

	// resources are resource URI prefixes, each starting with a scheme
	// ("file:///reports/", "db://sales/").
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=1024
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$`
	Resources []string `json:"resources,omitempty"`

	ItemRequirement `json:",inline"`
}

// A2APolicy governs the JSON-RPC methods of an A2A route. Refusals are
// always HTTP 403 challenges: A2A methods are public knowledge (the
// protocol's), so there is nothing to hide.
type A2APolicy struct {
	// rules are tried in order; the first that names a method decides what
	// it requires.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Rules []A2ARule `json:"rules,omitempty"`

	// unlisted is what a method no rule names gets: RouteScopes (default)
	// or Deny.
	// +optional
	// +kubebuilder:default=RouteScopes
	Unlisted UnlistedPolicy `json:"unlisted,omitempty"`

	// skills annotate the route's public agent card with the scopes each
	// skill needs: the gateway adds to the card's
	// capabilities.extensions the scopegate skill-scopes extension
	// (https://scopegate.dev/a2a/skill-scopes/v1), listing for every skill
	// of the card named here its requiredScopes and scopeMatch, besides
	// the route's own. An annotation only: A2A requests do not name
	// skills, so nothing is enforced by skill (govern methods with rules).
	// +optional
	// +listType=map
	// +listMapKey=id
	// +kubebuilder:validation:MaxItems=64
	Skills []A2ASkill `json:"skills,omitempty"`
}

// A2ASkill names a skill of the agent card (its id) and the scopes it
// needs.
type A2ASkill struct {
	// id is the skill's id in the agent card's skills.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	ID string `json:"id"`

	// requiredScopes a caller needs for the skill, beyond the route's.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	RequiredScopes []Scope `json:"requiredScopes"`

	// scopeMatch is Any (default) or All, as the route's.
	// +optional
	// +kubebuilder:default=Any
	ScopeMatch ScopeMatch `json:"scopeMatch,omitempty"`
}

// A2ARule names A2A JSON-RPC methods and the scopes they require.
type A2ARule struct {
	// methods are JSON-RPC methods, exact ("message/send") or a prefix
	// ending in "/*" ("tasks/pushNotificationConfig/*").
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=128
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z][A-Za-z0-9_.-]*(/[A-Za-z0-9_.-]+)*(/\*)?$`
	Methods []string `json:"methods"`

	ItemRequirement `json:",inline"`
}

// ItemRequirement is what a rule requires of a token, beyond the route's
// own requiredScopes.
type ItemRequirement struct {
	// requiredScopes the token must hold (see scopeMatch), with the same
	// implication as the route's: a built-in of a higher level satisfies a
	// lower one, admin satisfies any. Empty: the route's scopes suffice.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	RequiredScopes []Scope `json:"requiredScopes,omitempty"`

	// scopeMatch is Any (default) or All, as the route's.
	// +optional
	// +kubebuilder:default=Any
	ScopeMatch ScopeMatch `json:"scopeMatch,omitempty"`

	// rateLimit is enforced per client on the items of this rule, on top of
	// the route's and the client's limits.
	// +optional
	RateLimit *RateLimit `json:"rateLimit,omitempty"`
}

// UnlistedPolicy is what an item that no rule names gets.
// +kubebuilder:validation:Enum=RouteScopes;Deny
type UnlistedPolicy string

// Unlisted policies.
const (
	UnlistedRouteScopes UnlistedPolicy = "RouteScopes"
	UnlistedDeny        UnlistedPolicy = "Deny"
)

// DenialMode is how a refused MCP item is answered.
// +kubebuilder:validation:Enum=Challenge;Hide
type DenialMode string

// Denial modes.
const (
	DenialChallenge DenialMode = "Challenge"
	DenialHide      DenialMode = "Hide"
)
