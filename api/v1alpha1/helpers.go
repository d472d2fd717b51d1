package v1alpha1

import "time"

// CredentialsGracePeriod is how long a rotated-out client secret keeps
// working (SPEC §4).
const CredentialsGracePeriod = 10 * time.Minute

// ClientIDFor is the OAuth client_id of the OAuthClient namespace/name:
// "<namespace>.<name>". Namespaces hold no dots, so it splits unambiguously.
func ClientIDFor(namespace, name string) string { return namespace + "." + name }

// ClientID is the OAuth client_id of c.
func (c *OAuthClient) ClientID() string { return ClientIDFor(c.Namespace, c.Name) }

// CredentialsSecret is the name of c's credentials Secret.
func (c *OAuthClient) CredentialsSecret() string {
	if c.Spec.CredentialsSecretName != "" {
		return c.Spec.CredentialsSecretName
	}
	return c.Name + "-credentials"
}

// TokenSecretName is the name of c's token Secret, or "" when none is wanted.
func (c *OAuthClient) TokenSecretName() string {
	if c.Spec.TokenSecret == nil {
		return ""
	}
	if c.Spec.TokenSecret.Name != "" {
		return c.Spec.TokenSecret.Name
	}
	return c.Name + "-token"
}

// ScopeStrings converts scopes to plain strings.
func ScopeStrings(in []Scope) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

// AudienceStrings converts audiences to plain strings.
func AudienceStrings(in []Audience) []string {
	out := make([]string, len(in))
	for i, a := range in {
		out[i] = string(a)
	}
	return out
}

// UsesClientSecret reports whether the client has a client secret:
// clientAuthentication secret, the default.
func (c *OAuthClient) UsesClientSecret() bool {
	return c.Spec.ClientAuthentication != ClientAuthenticationServiceAccountToken
}

// ServiceAccountNames lists spec.serviceAccounts' names.
func (c *OAuthClient) ServiceAccountNames() []string {
	out := make([]string, 0, len(c.Spec.ServiceAccounts))
	for _, sa := range c.Spec.ServiceAccounts {
		out = append(out, sa.Name)
	}
	return out
}
