package oauthclient

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

func newClient(mutate func(*scopegatev1alpha1.OAuthClient)) *scopegatev1alpha1.OAuthClient {
	c := &scopegatev1alpha1.OAuthClient{
		ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "team-a"},
		Spec: scopegatev1alpha1.OAuthClientSpec{
			Scopes:      []scopegatev1alpha1.Scope{"mcp", "mcp:github:read"},
			TokenSecret: &scopegatev1alpha1.TokenSecretSpec{},
		},
	}
	if mutate != nil {
		mutate(c)
	}
	return c
}

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

func TestEffectiveTokenSpec(t *testing.T) {
	opts := &Options{Issuer: testIssuer}
	if err := opts.complete(); err != nil {
		t.Fatal(err)
	}
	t.Run("Defaults come from the client and the manager", func(t *testing.T) {
		s, err := effectiveTokenSpec(newClient(nil), opts)
		if err != nil {
			t.Fatal(err)
		}
		if s.SecretName != "c-token" || s.ClientID != "team-a.c" || s.Duration != time.Hour ||
			strings.Join(s.Scopes, " ") != "mcp mcp:github:read" || strings.Join(s.Audiences, " ") != "api mcp a2a" {
			t.Fatalf("unexpected defaults: %+v", s)
		}
	})
	t.Run("Default audiences are narrowed to spec.audiences, as at the token endpoint", func(t *testing.T) {
		for _, tc := range []struct{ allowed, want string }{
			{"mcp", "mcp"},
			{"hook mcp", "mcp"},
			{"https://api.example.com", "https://api.example.com"},
		} {
			c := newClient(func(c *scopegatev1alpha1.OAuthClient) {
				for _, a := range strings.Fields(tc.allowed) {
					c.Spec.Audiences = append(c.Spec.Audiences, scopegatev1alpha1.Audience(a))
				}
			})
			s, err := effectiveTokenSpec(c, opts)
			if err != nil || strings.Join(s.Audiences, " ") != tc.want {
				t.Fatalf("allowed %q: got %v, %v; want %q", tc.allowed, s, err, tc.want)
			}
		}
	})
	t.Run("duration falls back to accessTokenTTL before the manager default", func(t *testing.T) {
		s, err := effectiveTokenSpec(newClient(func(c *scopegatev1alpha1.OAuthClient) { c.Spec.AccessTokenTTL = dur(2 * time.Hour) }), opts)
		if err != nil || s.Duration != 2*time.Hour {
			t.Fatalf("got %v, %v", s, err)
		}
	})

	invalid := []struct {
		name   string
		mutate func(*scopegatev1alpha1.OAuthClient)
		field  string
	}{
		{"renewBefore not shorter than the manager's default TTL is a spec error", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret.RenewBefore = dur(time.Hour)
		}, "renewBefore"},
		{"Hook scopes without the hook audience are a spec error", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.Scopes = append(c.Spec.Scopes, "hook:govern")
			c.Spec.TokenSecret.Scopes = []scopegatev1alpha1.Scope{"hook:govern"}
			c.Spec.TokenSecret.Audiences = []scopegatev1alpha1.Audience{"mcp"}
		}, "hook"},
	}
	for _, c := range invalid {
		t.Run(c.name, func(t *testing.T) {
			_, err := effectiveTokenSpec(newClient(c.mutate), opts)
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("err = %v, want one naming %q", err, c.field)
			}
		})
	}
}

func TestTokenSpecHash(t *testing.T) {
	opts := &Options{Issuer: testIssuer}
	if err := opts.complete(); err != nil {
		t.Fatal(err)
	}
	hash := func(mutate func(*scopegatev1alpha1.OAuthClient)) string {
		s, err := effectiveTokenSpec(newClient(mutate), opts)
		if err != nil {
			t.Fatal(err)
		}
		return s.Hash()
	}
	base := hash(nil)
	if hash(func(c *scopegatev1alpha1.OAuthClient) {
		c.Spec.Scopes = []scopegatev1alpha1.Scope{"mcp:github:read", "mcp"}
	}) != base {
		t.Fatal("reordering scopes changed the hash")
	}
	if hash(func(c *scopegatev1alpha1.OAuthClient) { c.Spec.TokenSecret.RenewBefore = dur(time.Minute * 5) }) != base {
		t.Fatal("renewBefore changed the hash, but needs no new token")
	}
	if hash(func(c *scopegatev1alpha1.OAuthClient) {
		c.Spec.TokenSecret.SecretTemplate = &scopegatev1alpha1.SecretTemplate{Labels: map[string]string{"a": "b"}}
	}) != base {
		t.Fatal("the Secret template changed the hash, but needs no new token")
	}
	for name, m := range map[string]func(*scopegatev1alpha1.OAuthClient){
		"scopes": func(c *scopegatev1alpha1.OAuthClient) { c.Spec.TokenSecret.Scopes = []scopegatev1alpha1.Scope{"mcp"} },
		"audiences": func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret.Audiences = []scopegatev1alpha1.Audience{"mcp"}
		},
		"duration": func(c *scopegatev1alpha1.OAuthClient) { c.Spec.TokenSecret.Duration = dur(2 * time.Hour) },
		"pluginID": func(c *scopegatev1alpha1.OAuthClient) { c.Spec.PluginID = "github" },
	} {
		if hash(m) == base {
			t.Errorf("changing %s left the hash unchanged", name)
		}
	}
}
