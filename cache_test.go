package main

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

func TestStripForCacheDropsWhatNothingReads(t *testing.T) {
	applied := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{
			Name: "a",
			Annotations: map[string]string{
				corev1.LastAppliedConfigAnnotation: `{"apiVersion":"scopegate.dev/v1alpha1"}`,
				"team":                             "search",
			},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		}
	}

	oc := &scopegatev1alpha1.OAuthClient{ObjectMeta: applied()}
	out, err := stripForCache(true)(oc)
	if err != nil || out != any(oc) {
		t.Fatalf("transform = %v, %v; want the same object", out, err)
	}
	if oc.ManagedFields != nil {
		t.Errorf("managedFields kept: %v", oc.ManagedFields)
	}
	if _, ok := oc.Annotations[corev1.LastAppliedConfigAnnotation]; ok {
		t.Errorf("last-applied-configuration kept on an OAuthClient")
	}
	if oc.Annotations["team"] != "search" {
		t.Errorf("a user's annotation was dropped: %v", oc.Annotations)
	}

	only := &scopegatev1alpha1.GatewayRoute{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: "{}"}}}
	if _, err := stripForCache(true)(only); err != nil || only.Annotations != nil {
		t.Errorf("annotations = %v, %v; want nil once the last one is gone", only.Annotations, err)
	}

	// Secrets and ConfigMaps are updated from the cache: the annotation
	// stays, or an update would remove it on the server.
	s := &corev1.Secret{ObjectMeta: applied()}
	if _, err := stripForCache(false)(s); err != nil {
		t.Fatal(err)
	}
	if s.ManagedFields != nil || s.Annotations[corev1.LastAppliedConfigAnnotation] == "" {
		t.Errorf("secret: managedFields %v, annotations %v; want none and the annotation kept", s.ManagedFields, s.Annotations)
	}

	// Not an object: passed through.
	if out, err := stripForCache(true)("tombstone"); err != nil || out != "tombstone" {
		t.Errorf("transform(tombstone) = %v, %v", out, err)
	}
}
