package main

import (
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/hack/bench/plan"
	"github.com/scopegate/scopegate/internal/owned"
	"github.com/scopegate/scopegate/internal/registry"
)

func TestTheLargeRegistryIsComparedWithOneClientAtNinetyPercent(t *testing.T) {
	for _, pair := range [][2]string{{tTokenLarge, tToken}, {tGatewayLarge, tGateway}} {
		i := slices.IndexFunc(comparisons, func(c struct{ target, base, goal string }) bool {
			return c.target == pair[0] && c.base == pair[1]
		})
		if i < 0 {
			t.Fatalf("no ratio of %s to %s", pair[0], pair[1])
		}
		if !strings.Contains(comparisons[i].goal, "≥ 0.9") {
			t.Errorf("%s: goal %q", pair[0], comparisons[i].goal)
		}
		if targetWhat[pair[0]] == "" {
			t.Errorf("%s has no description", pair[0])
		}
	}
	got := selectTargets([]plan.Target{{Name: tToken}, {Name: tGateway}, {Name: tNoop}, {Name: tGatewayLarge}}, []string{tGatewayLarge})
	if len(got) != 2 || got[0].Name != tGateway || got[1].Name != tGatewayLarge {
		t.Errorf("selecting %s kept %v", tGatewayLarge, got)
	}
}

// The credentials Secret the harness writes for a large-registry client is
// one the registry feed accepts: controlled by the OAuthClient, labelled
// for the replicas' cache, a well-formed secret with its digest.
func TestTheLargeRegistrysCredentialsAreWhatTheFeedAccepts(t *testing.T) {
	oc := largeClient(7)
	oc.UID = "uid-7"
	s, err := credentialsSecret(oc)
	if err != nil {
		t.Fatal(err)
	}
	if !metav1.IsControlledBy(s, oc) {
		t.Error("not controlled by its OAuthClient")
	}
	if s.Name != oc.CredentialsSecret() || s.Labels[owned.LabelManagedBy] != owned.ManagedBy {
		t.Errorf("name %s, labels %v", s.Name, s.Labels)
	}
	secret := string(s.Data["client_secret"])
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43,}$`).MatchString(secret) {
		t.Errorf("client_secret %q is not well-formed", secret)
	}
	d := registry.Digest(secret)
	if s.Annotations[scopegatev1alpha1.AnnotationSecretDigest] != hex.EncodeToString(d[:]) {
		t.Error("digest annotation does not match the secret")
	}
	if string(s.Data["client_id"]) != scopegatev1alpha1.ClientIDFor(largeNS, oc.Name) {
		t.Errorf("client_id %s", s.Data["client_id"])
	}
}

func TestTheLargeRoutesAreDistinctAndNotUnderTheMeasuredPrefix(t *testing.T) {
	seen := map[string]bool{}
	for i := range 1000 {
		p := largeRoute(i, "http://127.0.0.1:1").Spec.PathPrefix
		if seen[p] || p == routePrefix || strings.HasPrefix(p, routePrefix+"/") {
			t.Fatalf("route %d: prefix %s repeats or shadows %s", i, p, routePrefix)
		}
		seen[p] = true
	}
}
