package oauthclient

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/registry"
)

// reconcileServiceAccounts reports whether every ServiceAccount the client
// names acts for it. A ServiceAccount acts for one client per namespace:
// when two name it, the one that registry.Precedes holds it (the token
// server resolves it the same way), and the other is not Ready, with the
// holder in the message, as GatewayRoutes report a path conflict.
func (r *Reconciler) reconcileServiceAccounts(ctx context.Context, p *pass) (ctrl.Result, bool, error) {
	obj := p.obj
	if len(obj.Spec.ServiceAccounts) == 0 {
		meta.RemoveStatusCondition(&obj.Status.Conditions, scopegatev1alpha1.ConditionServiceAccountsBound)
		return ctrl.Result{}, false, nil
	}
	list := &scopegatev1alpha1.OAuthClientList{}
	if err := r.List(ctx, list, client.InNamespace(obj.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, false, fmt.Errorf("list OAuthClients in %s: %w", obj.Namespace, err)
	}
	var conflicts []string
	for _, sa := range obj.ServiceAccountNames() {
		if holder := holderOf(list.Items, sa, obj); holder != "" {
			conflicts = append(conflicts, fmt.Sprintf("ServiceAccount %s is bound to OAuthClient %s", sa, holder))
		}
	}
	if len(conflicts) > 0 {
		msg := strings.Join(conflicts, "; ") + ", which is older; its tokens do not authenticate this client"
		p.setCondition(scopegatev1alpha1.ConditionServiceAccountsBound, metav1.ConditionFalse, scopegatev1alpha1.ReasonServiceAccountConflict, msg)
		return ctrl.Result{}, false, nil
	}
	p.setCondition(scopegatev1alpha1.ConditionServiceAccountsBound, metav1.ConditionTrue, scopegatev1alpha1.ReasonBound,
		fmt.Sprintf("The projected tokens of ServiceAccounts %s authenticate this client", strings.Join(obj.ServiceAccountNames(), ", ")))
	return ctrl.Result{}, false, nil
}

// holderOf is the name of another live client among clients that names sa
// and precedes self, or "".
func holderOf(clients []scopegatev1alpha1.OAuthClient, sa string, self *scopegatev1alpha1.OAuthClient) string {
	var held *scopegatev1alpha1.OAuthClient
	for i := range clients {
		o := &clients[i]
		if o.UID == self.UID || !o.DeletionTimestamp.IsZero() || !slices.Contains(o.ServiceAccountNames(), sa) ||
			!precedes(o, self) {
			continue
		}
		if held == nil || precedes(o, held) {
			held = o
		}
	}
	if held == nil {
		return ""
	}
	return held.Name
}

// precedes applies the registry's rule to two OAuthClients.
func precedes(a, b *scopegatev1alpha1.OAuthClient) bool {
	return registry.Precedes(a.CreationTimestamp.Time, a.ClientID(), b.CreationTimestamp.Time, b.ClientID())
}

// clientsSharingServiceAccounts maps a changed or deleted OAuthClient to the
// other clients of its namespace that name one of its ServiceAccounts:
// their binding may have changed with it.
func clientsSharingServiceAccounts(c client.Reader) func(context.Context, client.Object) []reconcile.Request {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		changed, ok := o.(*scopegatev1alpha1.OAuthClient)
		if !ok || len(changed.Spec.ServiceAccounts) == 0 {
			return nil
		}
		list := &scopegatev1alpha1.OAuthClientList{}
		if err := c.List(ctx, list, client.InNamespace(changed.Namespace), client.UnsafeDisableDeepCopy); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Cannot list OAuthClients sharing ServiceAccounts", "namespace", changed.Namespace)
			return nil
		}
		names := changed.ServiceAccountNames()
		var out []reconcile.Request
		for i := range list.Items {
			other := &list.Items[i]
			if other.UID == changed.UID {
				continue
			}
			if slices.ContainsFunc(other.ServiceAccountNames(), func(n string) bool { return slices.Contains(names, n) }) {
				out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: other.Namespace, Name: other.Name}})
			}
		}
		return out
	}
}
