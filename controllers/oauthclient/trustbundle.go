package oauthclient

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/owned"
)

// TrustBundleConfigMap is the ConfigMap, in every namespace that holds an
// OAuthClient, whose key ca.crt is the CA bundle of scopegate's listeners:
// pods mount it (or the credentials Secret's ca.crt) to trust the token
// server and the gateway. It is kept current through CA rotations; during
// one it holds the old and the new CA.
const TrustBundleConfigMap = "scopegate-ca"

// Setting an owner reference needs delete on the object where
// OwnerReferencesPermissionEnforcement is on; the garbage collector, not
// scopegate, deletes the ConfigMap.
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;delete

// reconcileTrustBundle keeps the namespace's scopegate-ca ConfigMap equal
// to the bundle, with an owner reference to every OAuthClient that needs
// it: the garbage collector removes it with the namespace's last client.
// A ConfigMap of that name that scopegate did not create is left alone.
func (r *Reconciler) reconcileTrustBundle(ctx context.Context, p *pass) (ctrl.Result, bool, error) {
	bundle := r.bundle()
	if len(bundle) == 0 {
		return ctrl.Result{}, false, nil
	}
	key := client.ObjectKey{Namespace: p.obj.Namespace, Name: TrustBundleConfigMap}
	cm := &corev1.ConfigMap{}
	switch err := r.Get(ctx, key, cm); {
	case apierrors.IsNotFound(err):
		cm = nil
	case err != nil:
		return ctrl.Result{}, false, fmt.Errorf("get ConfigMap %s: %w", key, err)
	}
	// Written only when the bundle or the owners changed. An update carries
	// the resourceVersion read: a conflict (another client of the namespace
	// added itself at the same moment) is expected, not an error, and the
	// pass runs again on a fresh read.
	_, err := owned.WriteConfigMap(ctx, r.Client, cm, owned.ConfigMap{
		What:  "trust-bundle ConfigMap",
		Key:   key,
		Data:  map[string]string{KeyCACert: string(bundle)},
		Owner: &owned.Owner{Object: p.obj, Scheme: r.Scheme()},
	})
	if cm == nil && apierrors.IsAlreadyExists(err) {
		// Not in the cache, so not labelled: someone else's.
		ctrl.LoggerFrom(ctx).V(1).Info("A ConfigMap not managed by scopegate holds the trust bundle's name; leaving it alone", "configMap", key)
		return ctrl.Result{RequeueAfter: conflictRecheck}, false, nil
	}
	if apierrors.IsConflict(err) {
		return ctrl.Result{RequeueAfter: staleRetry}, false, nil
	}
	return ctrl.Result{}, false, err
}

// bundleWatch wakes the reconciler for every OAuthClient when the CA
// bundle changes (a CA rotation, or the first load after a start), so that
// every credentials Secret, token Secret and trust-bundle ConfigMap gets
// the new bundle.
type bundleWatch struct {
	reader  client.Reader
	changes <-chan struct{}
	events  chan event.GenericEvent
	log     logr.Logger
}

// NeedLeaderElection: only the leader reconciles.
func (w *bundleWatch) NeedLeaderElection() bool { return true }

// Start relays bundle changes until ctx ends.
func (w *bundleWatch) Start(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.changes:
		}
		var list scopegatev1alpha1.OAuthClientList
		// Read only, names alone: no deep copy of every client.
		if err := w.reader.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
			w.log.Error(err, "Listing OAuthClients to publish a new CA bundle failed")
			continue
		}
		w.log.Info("CA bundle changed; updating the published copies", "oauthClients", len(list.Items))
		for i := range list.Items {
			obj := &scopegatev1alpha1.OAuthClient{ObjectMeta: metav1.ObjectMeta{Namespace: list.Items[i].Namespace, Name: list.Items[i].Name}}
			select {
			case w.events <- event.GenericEvent{Object: obj}:
			case <-ctx.Done():
				return nil
			}
		}
	}
}
