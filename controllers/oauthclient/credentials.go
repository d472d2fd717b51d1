package oauthclient

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/owned"
)

// conflictRecheck is how often a client blocked by a foreign Secret looks
// again: the foreign Secret is unlabelled, so its deletion wakes nobody.
const conflictRecheck = time.Minute

// reconcileCredentials creates, repairs and rotates the credentials Secret.
// It never overwrites a Secret the client does not control.
func (r *Reconciler) reconcileCredentials(ctx context.Context, p *pass) (ctrl.Result, bool, error) {
	obj := p.obj
	name := obj.CredentialsSecret()
	// A client that met a foreign Secret last time looks past the cache at
	// once: the foreign Secret is not in it.
	confirm := p.wasReason(scopegatev1alpha1.ConditionCredentialsReady, scopegatev1alpha1.ReasonSecretConflict)
	found, err := lookupSecret(ctx, r.Client, r.APIReader, obj, name, confirm)
	if err != nil {
		p.setCondition(scopegatev1alpha1.ConditionCredentialsReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonCredentialsError, "Cannot read the credentials Secret")
		return ctrl.Result{}, false, err
	}
	var ch credentialsChange
	created := false
	if found.Secret == nil && !found.Foreign {
		ch, err = r.createCredentials(ctx, p, name)
		switch {
		case err == nil:
			created = true
		case apierrors.IsAlreadyExists(err):
			// Not in the cache, yet there: foreign, ours without its
			// label, or ours and not cached yet. Only the API server
			// tells which; nothing was written.
			if found, err = lookupLive(ctx, r.APIReader, obj, name); err == nil && found.Secret == nil && !found.Foreign {
				err = fmt.Errorf("credentials Secret %s/%s: %w", obj.Namespace, name, errSecretVanished)
			}
			if err != nil {
				p.setCondition(scopegatev1alpha1.ConditionCredentialsReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonCredentialsError, "Cannot read the credentials Secret")
				return ctrl.Result{}, false, err
			}
		default:
			p.setCondition(scopegatev1alpha1.ConditionCredentialsReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonCredentialsError, "Cannot create the credentials Secret")
			return ctrl.Result{}, false, err
		}
	}
	if found.Foreign {
		msg := fmt.Sprintf("Secret %s exists and is not owned by this OAuthClient; it is left untouched", name)
		if p.setCondition(scopegatev1alpha1.ConditionCredentialsReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonSecretConflict, msg) {
			r.event(obj, corev1.EventTypeWarning, scopegatev1alpha1.ReasonSecretConflict, "CreateCredentials", msg)
		}
		return ctrl.Result{RequeueAfter: conflictRecheck}, false, nil
	}

	creds := obj.Status.Credentials
	if creds == nil || creds.SecretName != name {
		creds = &scopegatev1alpha1.CredentialsStatus{SecretName: name}
	} else {
		creds = creds.DeepCopy()
	}
	if created {
		if obj.UsesClientSecret() {
			creds.LastRotationTime = ptrTime(p.now)
		}
		p.createdCredentials = name // reported with the token, or at the end
	} else {
		// Written only when convergeCredentials changed something, with
		// the resourceVersion read.
		var convergeErr error
		_, err := owned.WriteSecret(ctx, r.Client, found.Secret, r.credentialsSecret(p, name, func(s *corev1.Secret) error {
			ch, convergeErr = convergeCredentials(s, obj, &r.Options, p.now)
			return convergeErr
		}))
		if convergeErr != nil {
			return ctrl.Result{}, false, convergeErr
		}
		if err != nil {
			p.setCondition(scopegatev1alpha1.ConditionCredentialsReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonCredentialsError, "Cannot update the credentials Secret")
			return ctrl.Result{}, false, err
		}
		r.reportCredentialsChange(p, creds, name, ch)
	}
	if v := obj.Annotations[scopegatev1alpha1.AnnotationRotateCredentials]; v != "" && obj.UsesClientSecret() {
		// Both paths above answered it: a new Secret or a rotation.
		creds.Rotation = v
	}
	obj.Status.Credentials = creds
	p.credentialsReady = true
	msg := fmt.Sprintf("Credentials Secret %s holds the client secret", name)
	if !obj.UsesClientSecret() {
		msg = fmt.Sprintf("Credentials Secret %s holds the client_id and token_url; the ServiceAccount tokens of spec.serviceAccounts authenticate, no client secret exists", name)
	}
	switch {
	case obj.Spec.TLSClientAuth && r.Options.ClientCerts == nil:
		msg += "; no client certificate: spec.tlsClientAuth needs scopegate's own CA (--tls-mode=auto)"
	case obj.Spec.TLSClientAuth:
		msg += ", and tls.crt and tls.key the client certificate"
	}
	p.setCondition(scopegatev1alpha1.ConditionCredentialsReady, metav1.ConditionTrue, scopegatev1alpha1.ReasonReady, msg)

	var res ctrl.Result
	if !ch.PreviousNotAfter.IsZero() {
		// Come back when the previous secret's grace period ends, to drop
		// its digest.
		res.RequeueAfter = ch.PreviousNotAfter.Sub(p.now) + time.Second
	}
	if at := ch.ClientCertRenewAt; !at.IsZero() && (res.RequeueAfter == 0 || at.Sub(p.now) < res.RequeueAfter) {
		// Come back to renew the client certificate.
		res.RequeueAfter = at.Sub(p.now) + time.Second
	}
	return res, false, nil
}

// createCredentials writes a new credentials Secret with a fresh secret. A
// rotation annotation present at creation is recorded as answered: the
// secret is new anyway.
func (r *Reconciler) createCredentials(ctx context.Context, p *pass, name string) (credentialsChange, error) {
	var ch credentialsChange
	_, err := owned.WriteSecret(ctx, r.Client, nil, r.credentialsSecret(p, name, func(s *corev1.Secret) (err error) {
		if v := p.obj.Annotations[scopegatev1alpha1.AnnotationRotateCredentials]; v != "" {
			s.Annotations = map[string]string{scopegatev1alpha1.AnnotationRotation: v}
		}
		ch, err = convergeCredentials(s, p.obj, &r.Options, p.now)
		return err
	}))
	return ch, err
}

// credentialsSecret is the credentials Secret as the client owns it:
// converge brings its keys, labels and annotations to the desired state
// (convergeCredentials), and the client is its controller.
func (r *Reconciler) credentialsSecret(p *pass, name string, converge func(*corev1.Secret) error) owned.Secret {
	return owned.Secret{
		What:   "credentials Secret",
		Key:    client.ObjectKey{Namespace: p.obj.Namespace, Name: name},
		Type:   corev1.SecretTypeOpaque,
		Mutate: converge,
		Owner:  &owned.Owner{Object: p.obj, Scheme: r.Scheme(), Controller: true},
	}
}

// reportCredentialsChange records events and status for what
// convergeCredentials did to an existing Secret.
func (r *Reconciler) reportCredentialsChange(p *pass, creds *scopegatev1alpha1.CredentialsStatus, name string, ch credentialsChange) {
	obj := p.obj
	switch {
	case ch.Rotated:
		creds.LastRotationTime = ptrTime(p.now)
		r.event(obj, corev1.EventTypeNormal, "CredentialsRotated", "RotateCredentials",
			"Rotated the client secret in Secret %s; the previous secret keeps working for %s", name, scopegatev1alpha1.CredentialsGracePeriod)
	case ch.Regenerated:
		creds.LastRotationTime = ptrTime(p.now)
		r.event(obj, corev1.EventTypeWarning, "CredentialsRepaired", "RepairCredentials",
			"The client_secret in Secret %s was missing or edited; a new secret was generated", name)
	}
	if ch.SecretRemoved {
		creds.LastRotationTime = nil
		creds.Rotation = ""
		r.event(obj, corev1.EventTypeNormal, "ClientSecretRemoved", "RemoveCredentials",
			"Removed the client secret from Secret %s: the client authenticates with ServiceAccount tokens", name)
	}
	if len(ch.Repaired) > 0 {
		r.event(obj, corev1.EventTypeWarning, "CredentialsRepaired", "RepairCredentials",
			"Restored %s in Secret %s", strings.Join(ch.Repaired, ", "), name)
	}
}

func ptrTime(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t.Truncate(time.Second))
	return &mt
}
