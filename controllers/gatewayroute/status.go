package gatewayroute

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/controllers/audit"
	"github.com/scopegate/scopegate/internal/apiserver"
	"github.com/scopegate/scopegate/internal/gateway"
)

// StatusReconciler writes GatewayRoute status. It is leader-elected: one
// writer for the cluster.
type StatusReconciler struct {
	Client client.Client
	// Cache, when set, is the informer cache behind Client: the route reads
	// every OAuthClient from it without copies (apiserver.Cached).
	Cache cache.Cache
	// APIReader reads backend.tls.caSecretRef Secrets (not in the cache).
	APIReader client.Reader
	Recorder  events.EventRecorder
	// GatewayURL is the gateway's external base URL; status.url is
	// <GatewayURL><pathPrefix>.
	GatewayURL string
	// Clock stamps condition transitions; nil means the real clock.
	Clock clock.PassiveClock
	Log   logr.Logger
	// ScopesRecheckDelay gathers OAuthClient events before the routes are
	// evaluated again; zero means DefaultScopesRecheckDelay.
	ScopesRecheckDelay time.Duration
	// keys watches the Secrets of LLM routes' provider keys
	// (SetupWithManager sets it).
	keys *keyWatch
}

// trackKeys tells the key watch which Secrets route references.
func (r *StatusReconciler) trackKeys(route types.NamespacedName, gr *scopegatev1alpha1.GatewayRoute) {
	if r.keys != nil {
		r.keys.track(route, keySecrets(gr))
	}
}

func (r *StatusReconciler) scopesRecheckDelay() time.Duration {
	if r.ScopesRecheckDelay > 0 {
		return r.ScopesRecheckDelay
	}
	return DefaultScopesRecheckDelay
}

// Reconcile computes the route's conditions from the cache and writes the
// status once, if it changed.
func (r *StatusReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var gr scopegatev1alpha1.GatewayRoute
	if err := r.Client.Get(ctx, req.NamespacedName, &gr); err != nil {
		if apierrors.IsNotFound(err) {
			r.trackKeys(req.NamespacedName, nil)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !gr.DeletionTimestamp.IsZero() {
		r.trackKeys(req.NamespacedName, nil)
		return ctrl.Result{}, nil
	}
	r.trackKeys(req.NamespacedName, &gr)

	var samePrefix scopegatev1alpha1.GatewayRouteList
	if err := r.Client.List(ctx, &samePrefix, client.MatchingFields{indexPrefix: gateway.CleanPrefix(gr.Spec.PathPrefix)}, client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, fmt.Errorf("list GatewayRoutes with prefix %s: %w", gr.Spec.PathPrefix, err)
	}
	be, err := resolveBackend(ctx, r.Client, &gr)
	if err != nil {
		return ctrl.Result{}, err
	}
	var result ctrl.Result
	if ref := caSecretRef(&gr); ref != nil && be.Resolved && r.APIReader != nil {
		// Not watched: looked at again as often as the table feed does.
		result.RequeueAfter = caRecheck
		if _, err := readBackendCA(ctx, r.APIReader, gr.Namespace, ref); err != nil {
			be.Resolved, be.Reason, be.Message, be.Endpoints = false, scopegatev1alpha1.ReasonBackendCAUnavailable, err.Error(), nil
		}
	}
	if gr.Spec.LLM != nil {
		states, err := resolveLLM(ctx, r.Client, r.APIReader, &gr, be)
		if err != nil {
			return ctrl.Result{}, err
		}
		if ok, reason, msg := providersPolicy(states); !ok && be.Resolved {
			// The route does not serve until its providers can be called.
			be.Resolved, be.Reason, be.Message = false, reason, msg
		}
	}
	// Read only, and every client: pointers into the cache, no copy of
	// each (at 10,000 clients deep copies were most of the manager's CPU,
	// and copies of the structs a fifth of its allocations).
	clients, err := apiserver.Cached[scopegatev1alpha1.OAuthClient](ctx, r.Cache, r.Client, &scopegatev1alpha1.OAuthClientList{})
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("list OAuthClients: %w", err)
	}

	now := time.Now
	if r.Clock != nil {
		now = r.Clock.Now
	}
	next := gr.DeepCopy()
	gen := gr.Generation
	set := func(typ string, ok bool, reason, message string) {
		st := metav1.ConditionFalse
		if ok {
			st = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&next.Status.Conditions, metav1.Condition{
			Type: typ, Status: st, Reason: reason, Message: message, ObservedGeneration: gen,
			LastTransitionTime: metav1.NewTime(now()),
		})
	}
	accepted, aReason, aMsg := acceptedPolicy(&gr, samePrefix.Items)
	set(scopegatev1alpha1.ConditionAccepted, accepted, aReason, aMsg)
	set(scopegatev1alpha1.ConditionBackendResolved, be.Resolved, be.Reason, be.Message)
	satisfiable, sReason, sMsg := scopesPolicy(&gr, clients)
	set(scopegatev1alpha1.ConditionScopesSatisfiable, satisfiable, sReason, sMsg)
	authorized := audit.AuthorizedClients(&gr, clients, r.GatewayURL)
	reachable, hReason, hMsg := reachablePolicy(authorized)
	set(scopegatev1alpha1.ConditionReachable, reachable, hReason, hMsg)
	next.Status.AuthorizedClients = authorized
	ready, rReason, rMsg := readyPolicy(next.Status.Conditions)
	set(scopegatev1alpha1.ConditionReady, ready, rReason, rMsg)
	next.Status.ItemRules, next.Status.UnsatisfiableItemRules = audit.ItemRules(&gr, clients, r.GatewayURL)
	if next.Status.ItemRules > 0 {
		ok, reason, msg := itemRulesPolicy(next.Status.ItemRules, next.Status.UnsatisfiableItemRules)
		set(scopegatev1alpha1.ConditionItemRulesSatisfiable, ok, reason, msg)
	} else {
		meta.RemoveStatusCondition(&next.Status.Conditions, scopegatev1alpha1.ConditionItemRulesSatisfiable)
	}

	next.Status.ObservedGeneration = gen
	next.Status.URL = strings.TrimSuffix(r.GatewayURL, "/") + gateway.CleanPrefix(gr.Spec.PathPrefix)
	next.Status.ReadyEndpoints = int32(len(be.Endpoints))
	if be.Terminating {
		// Traffic drains to terminating endpoints, none of them ready.
		next.Status.ReadyEndpoints = 0
	}

	if equality.Semantic.DeepEqual(gr.Status, next.Status) {
		return result, nil
	}
	// The resourceVersion read goes with the patch: a pass on a stale cached
	// object fails with a conflict and runs again, instead of keeping fields
	// that a later write changed.
	if err := r.Client.Status().Patch(ctx, next, client.MergeFromWithOptions(&gr, client.MergeFromWithOptimisticLock{})); apierrors.IsConflict(err) {
		return ctrl.Result{RequeueAfter: 50 * time.Millisecond}, nil
	} else if err != nil {
		return ctrl.Result{}, fmt.Errorf("patch status of GatewayRoute %s: %w", req.NamespacedName, err)
	}
	r.announce(&gr, gr.Status.Conditions, next.Status.Conditions)
	return result, nil
}

// readyPolicy: a route is Ready when it holds its prefix, its backend
// resolves and some client can use it; otherwise the first failing
// condition says why.
func readyPolicy(conds []metav1.Condition) (ok bool, reason, message string) {
	for _, t := range []string{scopegatev1alpha1.ConditionAccepted, scopegatev1alpha1.ConditionBackendResolved, scopegatev1alpha1.ConditionScopesSatisfiable} {
		c := meta.FindStatusCondition(conds, t)
		if c == nil || c.Status != metav1.ConditionTrue {
			if c == nil {
				return false, scopegatev1alpha1.ReasonNotReady, t + " is unknown"
			}
			return false, c.Reason, c.Message
		}
	}
	return true, scopegatev1alpha1.ReasonReady, "the route serves traffic"
}

// announce emits one event per condition whose result is new: a changed
// status or reason. Repeated passes with the same result stay quiet. A new
// route's first status announces Ready and the conditions that failed, not
// each success: a healthy new route costs one Event, not five (1000 routes
// applied at once were 5000 Event writes).
func (r *StatusReconciler) announce(gr *scopegatev1alpha1.GatewayRoute, before, after []metav1.Condition) {
	if r.Recorder == nil {
		return
	}
	first := len(before) == 0
	for _, c := range after {
		old := meta.FindStatusCondition(before, c.Type)
		if old != nil && old.Status == c.Status && old.Reason == c.Reason {
			continue
		}
		if first && c.Status == metav1.ConditionTrue && c.Type != scopegatev1alpha1.ConditionReady {
			continue
		}
		typ := corev1.EventTypeNormal
		if c.Status != metav1.ConditionTrue {
			typ = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(gr, nil, typ, c.Reason, c.Type, "%s: %s", c.Type, c.Message)
	}
}
