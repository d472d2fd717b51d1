package oauthclient

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/tokenserver"
)

// Token lifetimes allowed by the CRD (SPEC §4: 60s..24h).
const (
	minTokenDuration = 60 * time.Second
	maxTokenDuration = 24 * time.Hour
)

// tokenSpec is spec.tokenSecret with every default applied.
type tokenSpec struct {
	SecretName  string
	ClientID    string
	Issuer      string
	Scopes      []string
	Audiences   []string
	Duration    time.Duration
	RenewBefore *time.Duration
	PluginID    string
}

// effectiveTokenSpec applies the defaults of SPEC §4 to spec.tokenSecret and
// rejects what the CRD cannot: rules that depend on the manager's defaults.
// The error is a spec mistake, reported as InvalidSpec.
func effectiveTokenSpec(c *scopegatev1alpha1.OAuthClient, o *Options) (*tokenSpec, error) {
	ts := c.Spec.TokenSecret
	if ts == nil {
		return nil, nil
	}
	s := &tokenSpec{
		SecretName: c.TokenSecretName(),
		ClientID:   c.ClientID(),
		Issuer:     o.Issuer,
		Scopes:     scopegatev1alpha1.ScopeStrings(ts.Scopes),
		Audiences:  scopegatev1alpha1.AudienceStrings(ts.Audiences),
		Duration:   o.DefaultTTL,
		PluginID:   c.Spec.PluginID,
	}
	if len(s.Scopes) == 0 {
		s.Scopes = scopegatev1alpha1.ScopeStrings(c.Spec.Scopes)
	}
	if len(s.Audiences) == 0 {
		s.Audiences = tokenserver.DefaultAudiencesFor(o.DefaultAudiences, scopegatev1alpha1.AudienceStrings(c.Spec.Audiences))
	}
	switch {
	case ts.Duration != nil:
		s.Duration = ts.Duration.Duration
	case c.Spec.AccessTokenTTL != nil:
		s.Duration = c.Spec.AccessTokenTTL.Duration
	}
	if ts.RenewBefore != nil {
		rb := ts.RenewBefore.Duration
		s.RenewBefore = &rb
	}

	if s.Duration < minTokenDuration || s.Duration > maxTokenDuration {
		return nil, fmt.Errorf("spec.tokenSecret.duration: the effective token lifetime %s is outside 60s..24h", s.Duration)
	}
	if s.RenewBefore != nil && *s.RenewBefore >= s.Duration {
		return nil, fmt.Errorf("spec.tokenSecret.renewBefore: %s must be shorter than the effective token lifetime %s", *s.RenewBefore, s.Duration)
	}
	for _, sc := range s.Scopes {
		if !slices.Contains(scopegatev1alpha1.ScopeStrings(c.Spec.Scopes), sc) {
			return nil, fmt.Errorf("spec.tokenSecret.scopes: %q is not in spec.scopes", sc)
		}
	}
	if allowed := scopegatev1alpha1.AudienceStrings(c.Spec.Audiences); len(allowed) > 0 {
		for _, a := range s.Audiences {
			if !slices.Contains(allowed, a) {
				return nil, fmt.Errorf("spec.tokenSecret.audiences: %q is not in spec.audiences", a)
			}
		}
	}
	// The token endpoint's hook rule (SPEC §5.5) holds for controller-issued
	// tokens too: hook scopes are only granted for the hook audience.
	if (slices.Contains(s.Scopes, "hook:govern") || slices.Contains(s.Scopes, "hook:track")) && !slices.Contains(s.Audiences, "hook") {
		return nil, fmt.Errorf("spec.tokenSecret.audiences: a token granting hook:govern or hook:track must include the audience \"hook\"")
	}
	return s, nil
}

// Hash is a digest of what a token is issued for. renewBefore and the Secret
// template are left out: changing them needs no new token. Scopes and
// audiences are sets, so their order does not count.
func (s *tokenSpec) Hash() string {
	doc := struct {
		ClientID  string   `json:"client_id"`
		Issuer    string   `json:"issuer"`
		Scopes    []string `json:"scopes"`
		Audiences []string `json:"audiences"`
		Duration  string   `json:"duration"`
		PluginID  string   `json:"plugin_id,omitempty"`
	}{s.ClientID, s.Issuer, sorted(s.Scopes), sorted(s.Audiences), s.Duration.String(), s.PluginID}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // a struct of strings always marshals
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func sorted(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
}
