package oauthclient

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

func TestClientForCarriesRequireDPoP(t *testing.T) {
	for _, required := range []bool{false, true} {
		obj := &scopegatev1alpha1.OAuthClient{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "agent"},
			Spec:       scopegatev1alpha1.OAuthClientSpec{Scopes: []scopegatev1alpha1.Scope{"mcp"}, RequireDPoP: required},
		}
		if c := ClientFor(obj, nil); c.RequireDPoP != required {
			t.Fatalf("spec.requireDPoP %v became RequireDPoP %v in the registry", required, c.RequireDPoP)
		}
	}
}

func TestClientForCarriesTLSClientAuthAndTheUID(t *testing.T) {
	for _, on := range []bool{false, true} {
		obj := &scopegatev1alpha1.OAuthClient{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "agent", UID: "uid-7"},
			Spec:       scopegatev1alpha1.OAuthClientSpec{Scopes: []scopegatev1alpha1.Scope{"mcp"}, TLSClientAuth: on},
		}
		if c := ClientFor(obj, nil); c.TLSClientAuth != on || c.UID != "uid-7" {
			t.Fatalf("spec.tlsClientAuth %v became TLSClientAuth %v, UID %q in the registry", on, c.TLSClientAuth, c.UID)
		}
	}
}
