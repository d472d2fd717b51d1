package oauthclient

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

func TestWithPlainHTTPAReferencedCAIsReportedAsUnusable(t *testing.T) {
	r := &Reconciler{} // no AcceptsClientCertificates: --tls-mode=off
	c := newClient(func(c *scopegatev1alpha1.OAuthClient) {
		c.Spec.TLSClientCertificate = &scopegatev1alpha1.TLSClientCertificate{
			CA:        scopegatev1alpha1.CABundleReference{SecretRef: &scopegatev1alpha1.SecretKeySelector{Name: "team-ca"}},
			SubjectDN: "CN=reporter",
		}
	})
	p := &pass{obj: c, before: c.Status.DeepCopy(), now: time.Now()}
	if _, stop, err := r.reconcileClientCA(context.Background(), p); err != nil || stop {
		t.Fatalf("stop %v, err %v", stop, err)
	}
	cond := meta.FindStatusCondition(c.Status.Conditions, scopegatev1alpha1.ConditionClientCAResolved)
	if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != scopegatev1alpha1.ReasonTLSDisabled {
		t.Errorf("ClientCAResolved %+v, want False TLSDisabled", cond)
	}
}
