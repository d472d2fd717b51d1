package v1alpha1

// Finalizer, annotation and label names (SPEC §1, §4).
const (
	// Finalizer is held by objects whose deletion must clean state outside
	// the API server.
	Finalizer = "scopegate.dev/finalizer"

	// AnnotationRotateCredentials, set on an OAuthClient to any new value,
	// rotates its client secret; the previous one keeps working for
	// CredentialsGracePeriod.
	AnnotationRotateCredentials = "scopegate.dev/rotate-credentials"

	// Annotations on the token Secret.
	AnnotationClient      = "scopegate.dev/client"
	AnnotationRevision    = "scopegate.dev/revision"
	AnnotationNotAfter    = "scopegate.dev/not-after"
	AnnotationRenewalTime = "scopegate.dev/renewal-time"

	// AnnotationTemplateLabels and AnnotationTemplateAnnotations, on the
	// token Secret, list (comma-separated, sorted) the label and annotation
	// keys that spec.tokenSecret.secretTemplate set. A key that leaves the
	// template is removed from the Secret; keys others added are left alone.
	AnnotationTemplateLabels      = "scopegate.dev/template-labels"
	AnnotationTemplateAnnotations = "scopegate.dev/template-annotations"

	// SecretTypeAccessToken is the type of token Secrets.
	SecretTypeAccessToken = "scopegate.dev/access-token"

	// AnnotationTokenSpecHash, on the token Secret, is a digest of the
	// token-relevant spec the token was issued for; a different digest means
	// the spec changed and the token is re-issued.
	AnnotationTokenSpecHash = "scopegate.dev/spec-hash"

	// Annotations on the credentials Secret. They hold SHA-256 digests of
	// client secrets (hex), never a secret itself.
	//
	// AnnotationSecretDigest is the digest of the current client_secret; a
	// client_secret that does not match it was edited and is replaced.
	AnnotationSecretDigest = "scopegate.dev/secret-sha256"
	// AnnotationPreviousSecretDigest is the digest of the rotated-out secret,
	// valid until AnnotationPreviousSecretNotAfter (RFC 3339).
	AnnotationPreviousSecretDigest   = "scopegate.dev/previous-secret-sha256"
	AnnotationPreviousSecretNotAfter = "scopegate.dev/previous-secret-not-after"
	// AnnotationRotation is the value of AnnotationRotateCredentials that the
	// current client_secret answers.
	AnnotationRotation = "scopegate.dev/rotation"
)

// Condition types. Every condition has positive polarity: True is good.
const (
	// ConditionReady summarises an object: True when it fully works.
	ConditionReady = "Ready"

	// ConditionCredentialsReady (OAuthClient): the credentials Secret exists,
	// is owned by the client, and its secret is registered.
	ConditionCredentialsReady = "CredentialsReady"

	// ConditionTokenReady (OAuthClient): the token Secret holds a valid token
	// for the current spec. Absent when spec.tokenSecret is unset.
	ConditionTokenReady = "TokenReady"

	// ConditionServiceAccountsBound (OAuthClient): every ServiceAccount in
	// spec.serviceAccounts acts for this client and no other. Absent when
	// spec.serviceAccounts is empty.
	ConditionServiceAccountsBound = "ServiceAccountsBound"

	// ConditionClientCAResolved (OAuthClient): the CA bundle that
	// spec.tlsClientCertificate.ca names exists, holds CA certificates of
	// which one is valid now, and the listeners serve TLS, so a client
	// certificate from that CA can authenticate the client. Absent when
	// spec.tlsClientCertificate is unset.
	ConditionClientCAResolved = "ClientCAResolved"

	// ConditionAccepted (GatewayRoute): the route holds its pathPrefix.
	ConditionAccepted = "Accepted"

	// ConditionBackendResolved (GatewayRoute): the backend has somewhere to
	// send traffic.
	ConditionBackendResolved = "BackendResolved"

	// ConditionReachable (GatewayRoute): at least one OAuthClient, not
	// suspended, may hold a token the route accepts (scopes and audience);
	// see status.authorizedClients.
	ConditionReachable = "Reachable"

	// ConditionScopesSatisfiable (GatewayRoute): at least one OAuthClient may
	// hold a scope that satisfies the route.
	ConditionScopesSatisfiable = "ScopesSatisfiable"

	// ConditionItemRulesSatisfiable (GatewayRoute): every item rule
	// (spec.mcp.rules, spec.a2a.rules) can be satisfied by some OAuthClient
	// that reaches the route; see status.unsatisfiableItemRules. Absent on
	// a route without item rules. It does not affect Ready: the route's
	// other items still serve.
	ConditionItemRulesSatisfiable = "ItemRulesSatisfiable"
)

// Condition reasons.
const (
	ReasonReady            = "Ready"
	ReasonNotReady         = "NotReady"
	ReasonSuspended        = "Suspended"
	ReasonInvalidSpec      = "InvalidSpec"
	ReasonSecretConflict   = "SecretConflict"
	ReasonSecretCreated    = "SecretCreated"
	ReasonCredentialsError = "CredentialsError"
	ReasonWaiting          = "Waiting"
	// ReasonServiceAccountConflict: an older OAuthClient of the namespace
	// holds a ServiceAccount this one names.
	ReasonServiceAccountConflict = "ServiceAccountConflict"
	ReasonBound                  = "Bound"
	// ClientCAResolved reasons. ReasonResolved when it is True.
	// ReasonClientCANotFound: the Secret or ConfigMap, or its key, is
	// missing. ReasonInvalidClientCA: it holds no PEM CA certificate, or
	// none valid now, or the subject does not parse. ReasonTLSDisabled:
	// --tls-mode=off, so no connection presents a certificate.
	ReasonClientCANotFound = "ClientCANotFound"
	ReasonInvalidClientCA  = "InvalidClientCA"
	ReasonTLSDisabled      = "TLSDisabled"

	// Token Secret issuance reasons (why a token was (re-)issued).
	ReasonIssued            = "Issued"
	ReasonIssuanceFailed    = "IssuanceFailed"
	ReasonDoesNotExist      = "DoesNotExist"
	ReasonSpecChanged       = "SpecChanged"
	ReasonSecretMismatch    = "SecretMismatch"
	ReasonSigningKeyRetired = "SigningKeyRetired"
	ReasonExpired           = "Expired"
	ReasonRenewing          = "Renewing"

	// GatewayRoute reasons.
	ReasonAccepted         = "Accepted"
	ReasonPathConflict     = "PathConflict"
	ReasonResolved         = "Resolved"
	ReasonServiceNotFound  = "ServiceNotFound"
	ReasonPortNotFound     = "PortNotFound"
	ReasonNoReadyEndpoints = "NoReadyEndpoints"
	// ReasonBackendCAUnavailable: backend.tls.caSecretRef names a Secret
	// (or key) that is missing or holds no PEM certificate; the route
	// answers 503 until it can verify its backend.
	ReasonBackendCAUnavailable = "BackendCAUnavailable"
	// ReasonProviderKeyUnavailable: an LLM provider's apiKeySecretRef
	// cannot be read (missing Secret or key); the provider is not called.
	ReasonProviderKeyUnavailable = "ProviderKeyUnavailable"
	// ReasonProviderBackendUnresolved: an LLM provider's own backend does
	// not resolve.
	ReasonProviderBackendUnresolved = "ProviderBackendUnresolved"
	ReasonProvidersReady            = "ProvidersReady"
	ReasonSatisfiable               = "Satisfiable"
	ReasonNoMatchingClient          = "NoMatchingClient"
	// Reachable reasons.
	ReasonAuthorizedClients  = "AuthorizedClients"
	ReasonNoAuthorizedClient = "NoAuthorizedClient"
	ReasonAnonymousAllowed   = "AnonymousAllowed"
	ReasonNoScopesRequired   = "NoScopesRequired"
	// ItemRulesSatisfiable reasons.
	ReasonItemRulesSatisfiable  = "ItemRulesSatisfiable"
	ReasonUnsatisfiableItemRule = "UnsatisfiableItemRule"
)
