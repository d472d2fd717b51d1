package oauthclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// Reconciler is the leader-elected OAuthClient controller: it owns the
// credentials and token Secrets, the status, events and metrics.
type Reconciler struct {
	client.Client
	// APIReader reads without the cache; the cache sees only labelled
	// Secrets, so a foreign Secret is found only this way.
	APIReader client.Reader
	Options
}

// pass is the state of one reconciliation.
type pass struct {
	obj *scopegatev1alpha1.OAuthClient
	// before is the status as read, to tell new results from repeated ones.
	before *scopegatev1alpha1.OAuthClientStatus
	now    time.Time
	token  *tokenSpec
	// credentialsReady: the client owns its credentials Secret.
	credentialsReady bool
	// invalid holds the spec mistake found by reconcileSpec.
	invalid error
	// createdCredentials names the credentials Secret this pass created.
	// Its event joins the token's issuance event of the same pass, so a
	// new client costs one Event write, not two; a pass that issues no
	// token reports it alone at the end.
	createdCredentials string
}

// subReconciler is one ordered step of Reconcile. A step that sets stop ends
// the pass.
type subReconciler func(ctx context.Context, p *pass) (result ctrl.Result, stop bool, err error)

// +kubebuilder:rbac:groups=scopegate.dev,resources=oauthclients,verbs=get;list;watch
// +kubebuilder:rbac:groups=scopegate.dev,resources=oauthclients/status,verbs=get;patch
// Owner references with blockOwnerDeletion need update on the owner's
// finalizers where OwnerReferencesPermissionEnforcement is on.
// +kubebuilder:rbac:groups=scopegate.dev,resources=oauthclients/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile converges one OAuthClient: spec checks, then the credentials
// Secret, then the token Secret; the status is written once, at the end.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	obj := &scopegatev1alpha1.OAuthClient{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			// Owner references remove the Secrets; the registry feed has
			// already dropped the client on every replica.
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get OAuthClient %s: %w", req.NamespacedName, err)
	}
	if !obj.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}

	p := &pass{obj: obj, before: obj.Status.DeepCopy(), now: r.Clock.Now()}
	original := obj.DeepCopy()
	defer func() {
		r.summarize(p)
		if p.createdCredentials != "" {
			r.event(obj, corev1.EventTypeNormal, scopegatev1alpha1.ReasonSecretCreated, "CreateCredentials", "Created credentials Secret %s", p.createdCredentials)
		}
		if err := r.patchStatus(ctx, original, obj); apierrors.IsConflict(err) {
			// The pass read a stale object (the cache had not yet seen
			// the last status write): its conclusions may rest on it, so
			// the pass runs again on a fresh read rather than overwrite.
			result = soonest(result, ctrl.Result{RequeueAfter: staleRetry})
		} else if err != nil {
			retErr = kerrors.NewAggregate([]error{retErr, err})
		}
		if retErr != nil {
			// The work queue backs off on an error and ignores a result
			// given with one (controller-runtime warns of it).
			result = ctrl.Result{}
		}
	}()

	obj.Status.ClientID = obj.ClientID()
	obj.Status.ObservedGeneration = obj.Generation
	for _, step := range []subReconciler{r.reconcileSpec, r.reconcileServiceAccounts, r.reconcileAudit, r.reconcileCredentials, r.reconcileToken, r.reconcileTrustBundle, r.reconcileClientCA} {
		res, stop, err := step(ctx, p)
		result = soonest(result, res)
		if err != nil || stop {
			return result, err
		}
	}
	return result, nil
}

// reconcileSpec finds spec mistakes that the CRD cannot catch because they
// depend on the manager's defaults. They only concern spec.tokenSecret, so
// the credentials are still reconciled (a rotation is still answered, a
// deleted Secret still recreated); reconcileToken reports the mistake.
func (r *Reconciler) reconcileSpec(_ context.Context, p *pass) (ctrl.Result, bool, error) {
	if name := p.obj.TokenSecretName(); name != "" && name == p.obj.CredentialsSecret() {
		// One Secret cannot be both: writing either would destroy the
		// other, on every pass. Neither is touched.
		p.invalid = fmt.Errorf("spec.tokenSecret.name: %q is also the name of the credentials Secret", name)
		for _, t := range []string{scopegatev1alpha1.ConditionCredentialsReady, scopegatev1alpha1.ConditionTokenReady} {
			p.setCondition(t, metav1.ConditionFalse, scopegatev1alpha1.ReasonInvalidSpec, p.invalid.Error())
		}
		return ctrl.Result{}, true, reconcile.TerminalError(p.invalid)
	}
	ts, err := effectiveTokenSpec(p.obj, &r.Options)
	if err != nil {
		p.invalid = err
		return ctrl.Result{}, false, nil
	}
	p.token = ts
	return ctrl.Result{}, false, nil
}

// staleRetry is how soon a pass that read a stale object runs again.
const staleRetry = 50 * time.Millisecond

// patchStatus writes the status when it changed, as a merge patch that
// carries the resourceVersion read: a pass on an object the cache had not
// yet refreshed fails with a conflict instead of reverting fields that a
// later write set (a merge patch only names the fields this pass changed).
func (r *Reconciler) patchStatus(ctx context.Context, original, obj *scopegatev1alpha1.OAuthClient) error {
	if equality.Semantic.DeepEqual(original.Status, obj.Status) {
		return nil
	}
	if err := r.Status().Patch(ctx, obj, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("patch status of OAuthClient %s/%s: %w", obj.Namespace, obj.Name, err)
	}
	return nil
}

// soonest combines two results: the earliest requeue wins.
func soonest(a, b ctrl.Result) ctrl.Result {
	switch {
	case a.RequeueAfter == 0:
		return b
	case b.RequeueAfter == 0:
		return a
	case b.RequeueAfter < a.RequeueAfter:
		return b
	}
	return a
}

// SetupWithManager registers the leader-elected OAuthClient controller.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := r.Options.complete(); err != nil {
		return err
	}
	if r.Tokens == nil {
		return errors.New("oauthclient options: Tokens is required")
	}
	if r.Client == nil {
		r.Client = mgr.GetClient()
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	if r.Recorder == nil {
		r.Recorder = mgr.GetEventRecorder("scopegate-oauthclient")
	}
	if r.Metrics != nil {
		if err := mgr.Add(r.Metrics.from(mgr.GetCache(), r.Client, mgr.GetLogger().WithName("oauthclient-gauges"))); err != nil {
			return fmt.Errorf("add the OAuthClient gauges: %w", err)
		}
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("oauthclient").
		// Status writes do not bump the generation, so the controller does
		// not wake itself; annotations carry the rotation request.
		For(&scopegatev1alpha1.OAuthClient{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&corev1.Secret{}, builder.WithPredicates(ownedSecretEvents)).
		// Another client's ServiceAccounts decide this one's binding.
		Watches(&scopegatev1alpha1.OAuthClient{}, handler.EnqueueRequestsFromMapFunc(clientsSharingServiceAccounts(r.Client)),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// The routes decide reachableRoutes and unusedScopes; coalesced.
		Watches(&scopegatev1alpha1.GatewayRoute{}, routeEvents(r.Client, r.auditDelay(), mgr.GetLogger().WithName("oauthclient-audit"))).
		// Every OAuthClient of a namespace owns its trust-bundle ConfigMap
		// (not as controller): an edit or deletion wakes them all.
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(), &scopegatev1alpha1.OAuthClient{}))
	if r.CABundle != nil {
		w := &bundleWatch{reader: r.Client, changes: r.CABundle.Subscribe(), events: make(chan event.GenericEvent), log: mgr.GetLogger().WithName("oauthclient-ca-bundle")}
		if err := mgr.Add(w); err != nil {
			return fmt.Errorf("add CA bundle watch: %w", err)
		}
		b = b.WatchesRawSource(source.Channel(w.events, &handler.EnqueueRequestForObject{}))
	}
	if r.Keys != nil {
		// A signing key retires at a moment in time, not on an API event.
		w := newKeyRetirementWatch(r.Client, &r.Options, mgr.GetLogger().WithName("oauthclient-keys"))
		if err := mgr.Add(w); err != nil {
			return fmt.Errorf("add signing-key retirement watch: %w", err)
		}
		b = b.WatchesRawSource(source.Channel(w.events, &handler.EnqueueRequestForObject{}))
	}
	return b.Complete(r)
}

// ownedSecretEvents are the events of a client's own Secrets that wake
// it: updates and deletions, not creations. The controller creates them in
// a pass that goes on to write the status, and a new leader's replay
// queues every client through the clients' own events: a wake-up per
// created Secret was a second, idle pass for every client of a burst or
// of a takeover (20,000 passes for 10,000 clients).
var ownedSecretEvents = predicate.Funcs{CreateFunc: func(event.CreateEvent) bool { return false }}

// setCondition sets a condition with the pass's time and generation and
// reports whether its status, reason or message changed.
func (p *pass) setCondition(t string, status metav1.ConditionStatus, reason, message string) bool {
	old := meta.FindStatusCondition(p.before.Conditions, t)
	meta.SetStatusCondition(&p.obj.Status.Conditions, metav1.Condition{
		Type:               t,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: p.obj.Generation,
		LastTransitionTime: metav1.NewTime(p.now),
	})
	return old == nil || old.Status != status || old.Reason != reason || old.Message != message
}

// wasReason reports whether condition t had the given reason before the pass.
func (p *pass) wasReason(t, reason string) bool {
	c := meta.FindStatusCondition(p.before.Conditions, t)
	return c != nil && c.Reason == reason
}

func (r *Reconciler) auditDelay() time.Duration {
	if r.AuditDelay > 0 {
		return r.AuditDelay
	}
	return DefaultAuditDelay
}
