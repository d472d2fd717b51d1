package oauthclient

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/owned"
	"github.com/scopegate/scopegate/internal/testenv"
)

// Two clients of one namespace that add themselves to the trust bundle's
// owners at the same moment: the second update conflicts. That is the
// normal course of things, retried soon on a fresh read, and not an error
// (which controller-runtime logs with a stack trace); any other failure
// still is one.
func TestATrustBundleConflictIsRetriedSoonWithoutAnError(t *testing.T) {
	obj := &scopegatev1alpha1.OAuthClient{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "second", UID: "uid-second"}}
	existing := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Namespace: "team", Name: TrustBundleConfigMap,
		Labels: map[string]string{owned.LabelManagedBy: owned.ManagedBy},
	}, Data: map[string]string{KeyCACert: "old bundle"}}

	for _, tc := range []struct {
		name      string
		updateErr error
		wantErr   bool
	}{
		{"conflict", apierrors.NewConflict(schema.GroupResource{Resource: "configmaps"}, TrustBundleConfigMap, errors.New("the object has been modified")), false},
		{"other failure", apierrors.NewServiceUnavailable("etcd is down"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			updates := 0
			c := fake.NewClientBuilder().WithScheme(testenv.Scheme()).WithObjects(existing.DeepCopy()).WithInterceptorFuncs(interceptor.Funcs{
				Update: func(context.Context, client.WithWatch, client.Object, ...client.UpdateOption) error {
					updates++
					return tc.updateErr
				},
			}).Build()
			r := &Reconciler{Client: c, Options: Options{CABundle: staticBundle("-----BEGIN CERTIFICATE-----\n(a CA)\n-----END CERTIFICATE-----\n")}}
			res, stop, err := r.reconcileTrustBundle(context.Background(), &pass{obj: obj})
			if updates != 1 {
				t.Fatalf("updates of the ConfigMap: %d, want 1", updates)
			}
			if stop {
				t.Errorf("the pass stopped at the trust bundle")
			}
			if tc.wantErr {
				if !errors.Is(err, tc.updateErr) {
					t.Errorf("error %v, want the update's", err)
				}
				return
			}
			if err != nil {
				t.Errorf("error %v, want none", err)
			}
			if res.RequeueAfter != staleRetry {
				t.Errorf("RequeueAfter %v, want %v", res.RequeueAfter, staleRetry)
			}
		})
	}
}

// staticBundle is a CA bundle that never changes; the reconciler copies it
// without parsing it.
type staticBundle string

func (b staticBundle) Bundle() []byte           { return []byte(b) }
func (staticBundle) Subscribe() <-chan struct{} { return nil }
