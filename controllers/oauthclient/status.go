package oauthclient

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// summarize sets Ready from the other conditions at the end of a pass.
//
// Polarity: Ready is True when the client can authenticate, in every way
// its spec declares (a client certificate from the CA of
// spec.tlsClientCertificate too), and, with spec.tokenSecret, its token
// Secret holds a valid token. It is False with
// reason InvalidSpec for a spec mistake, Suspended for a suspended client,
// and otherwise with the reason of the first failing condition.
func (r *Reconciler) summarize(p *pass) {
	obj := p.obj
	switch {
	case p.invalid != nil:
		if p.setCondition(scopegatev1alpha1.ConditionReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonInvalidSpec, p.invalid.Error()) {
			r.event(obj, corev1.EventTypeWarning, scopegatev1alpha1.ReasonInvalidSpec, "Validate", p.invalid.Error())
		}
		return
	case obj.Spec.Suspended:
		if p.setCondition(scopegatev1alpha1.ConditionReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonSuspended,
			"The client is suspended: token requests fail and its tokens are rejected") {
			r.event(obj, corev1.EventTypeNormal, scopegatev1alpha1.ReasonSuspended, "Suspend", "The client is suspended")
		}
		return
	}
	for _, t := range []string{scopegatev1alpha1.ConditionCredentialsReady, scopegatev1alpha1.ConditionServiceAccountsBound, scopegatev1alpha1.ConditionClientCAResolved, scopegatev1alpha1.ConditionTokenReady} {
		c := meta.FindStatusCondition(obj.Status.Conditions, t)
		if c == nil && t == scopegatev1alpha1.ConditionCredentialsReady {
			p.setCondition(scopegatev1alpha1.ConditionReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonNotReady, "The credentials are not reconciled yet")
			return
		}
		if c != nil && c.Status != metav1.ConditionTrue {
			p.setCondition(scopegatev1alpha1.ConditionReady, metav1.ConditionFalse, c.Reason, c.Message)
			return
		}
	}
	wasFalse := p.before != nil && meta.IsStatusConditionFalse(p.before.Conditions, scopegatev1alpha1.ConditionReady)
	if p.setCondition(scopegatev1alpha1.ConditionReady, metav1.ConditionTrue, scopegatev1alpha1.ReasonReady, "The client can authenticate") && wasFalse {
		// A recovery is news; a first success is reported by the steps.
		r.event(obj, corev1.EventTypeNormal, scopegatev1alpha1.ReasonReady, "Reconcile", "The client is ready again")
	}
}

// event records a Kubernetes event on obj. Notes never hold a secret, a
// digest or a token.
func (r *Reconciler) event(obj *scopegatev1alpha1.OAuthClient, eventType, reason, action, note string, args ...any) {
	if r.Recorder == nil {
		return
	}
	r.Recorder.Eventf(obj, nil, eventType, reason, action, note, args...)
}
