package oauthclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/tlsclientauth"
)

// DefaultClientCARecheck is how often the CA bundle of a client with
// spec.tlsClientCertificate is read again, on every replica (the registry
// feed) and by the leader (the ClientCAResolved condition): a renewed or
// replaced CA takes effect within it, without a restart. The bundle is
// read, not watched, because the manager's cache holds only the Secrets and
// ConfigMaps scopegate labels (as backend.tls.caSecretRef is on routes).
const DefaultClientCARecheck = time.Minute

// clientCAError is a CA reference that cannot be used now; Reason is the
// ClientCAResolved condition's reason. Its message names the object and
// key, never their content.
type clientCAError struct {
	Reason, Message string
}

func (e *clientCAError) Error() string { return e.Message }

// clientTrust reads the CA bundle that obj's spec.tlsClientCertificate
// names and builds the Trust that authenticates its certificates at now.
// A *clientCAError says the reference is missing or unusable; any other
// error is the API server's, and says nothing about the reference.
func clientTrust(ctx context.Context, reader client.Reader, obj *scopegatev1alpha1.OAuthClient, now time.Time) (*tlsclientauth.Trust, error) {
	tc := obj.Spec.TLSClientCertificate
	bundle, origin, err := readClientCA(ctx, reader, obj.Namespace, &tc.CA)
	if err != nil {
		return nil, err
	}
	cas, err := tlsclientauth.ParseBundle(bundle)
	if err != nil {
		return nil, &clientCAError{scopegatev1alpha1.ReasonInvalidClientCA,
			fmt.Sprintf("spec.tlsClientCertificate.ca: %s holds no usable CA bundle: %v", origin, err)}
	}
	valid := 0
	for _, c := range cas {
		if !now.Before(c.NotBefore) && !now.After(c.NotAfter) {
			valid++
		}
	}
	if valid == 0 {
		return nil, &clientCAError{scopegatev1alpha1.ReasonInvalidClientCA,
			fmt.Sprintf("spec.tlsClientCertificate.ca: every certificate in %s has expired or is not yet valid", origin)}
	}
	trust, err := tlsclientauth.New(cas, subjectOf(tc))
	if err != nil {
		return nil, &clientCAError{scopegatev1alpha1.ReasonInvalidClientCA, fmt.Sprintf("spec.tlsClientCertificate: %v", err)}
	}
	trust.Origin = origin
	return trust, nil
}

// subjectOf is the RFC 8705 §2.1.2 subject value the spec registers.
func subjectOf(tc *scopegatev1alpha1.TLSClientCertificate) tlsclientauth.Subject {
	return tlsclientauth.Subject{DN: tc.SubjectDN, DNS: tc.SANDNS, URI: tc.SANURI, IP: tc.SANIP, Email: tc.SANEmail}
}

// readClientCA reads the bundle ref names in namespace ns, and names it
// for messages ("Secret team-ca key ca.crt").
func readClientCA(ctx context.Context, reader client.Reader, ns string, ref *scopegatev1alpha1.CABundleReference) ([]byte, string, error) {
	var (
		kind, name, key string
		obj             client.Object
		data            func() ([]byte, bool)
	)
	switch {
	case ref.SecretRef != nil:
		s := &corev1.Secret{}
		kind, name, key, obj = "Secret", ref.SecretRef.Name, ref.SecretRef.Key, s
		data = func() ([]byte, bool) { b, ok := s.Data[keyOr(key)]; return b, ok }
	case ref.ConfigMapRef != nil:
		cm := &corev1.ConfigMap{}
		kind, name, key, obj = "ConfigMap", ref.ConfigMapRef.Name, ref.ConfigMapRef.Key, cm
		data = func() ([]byte, bool) {
			if s, ok := cm.Data[keyOr(key)]; ok {
				return []byte(s), true
			}
			b, ok := cm.BinaryData[keyOr(key)]
			return b, ok
		}
	default:
		return nil, "", &clientCAError{scopegatev1alpha1.ReasonClientCANotFound, "spec.tlsClientCertificate.ca names neither a Secret nor a ConfigMap"}
	}
	origin := originOf(ref)
	if err := reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, origin, &clientCAError{scopegatev1alpha1.ReasonClientCANotFound,
				fmt.Sprintf("spec.tlsClientCertificate.ca: %s %s not found", kind, name)}
		}
		return nil, origin, fmt.Errorf("read %s %s/%s: %w", kind, ns, name, err)
	}
	b, ok := data()
	if !ok {
		return nil, origin, &clientCAError{scopegatev1alpha1.ReasonClientCANotFound,
			fmt.Sprintf("spec.tlsClientCertificate.ca: %s %s has no key %s", kind, name, keyOr(key))}
	}
	return b, origin, nil
}

// originOf names the bundle ref names, for messages.
func originOf(ref *scopegatev1alpha1.CABundleReference) string {
	switch {
	case ref.SecretRef != nil:
		return fmt.Sprintf("Secret %s key %s", ref.SecretRef.Name, keyOr(ref.SecretRef.Key))
	case ref.ConfigMapRef != nil:
		return fmt.Sprintf("ConfigMap %s key %s", ref.ConfigMapRef.Name, keyOr(ref.ConfigMapRef.Key))
	}
	return "no bundle"
}

func keyOr(k string) string {
	if k == "" {
		return "ca.crt"
	}
	return k
}

// reconcileClientCA reports in ClientCAResolved whether the CA bundle of
// spec.tlsClientCertificate can authenticate the client's certificates, and
// comes back every ClientCARecheck to notice a renewed, replaced or deleted
// bundle. An API-server error leaves the condition as it was.
func (r *Reconciler) reconcileClientCA(ctx context.Context, p *pass) (ctrl.Result, bool, error) {
	obj := p.obj
	if obj.Spec.TLSClientCertificate == nil {
		meta.RemoveStatusCondition(&obj.Status.Conditions, scopegatev1alpha1.ConditionClientCAResolved)
		return ctrl.Result{}, false, nil
	}
	if !r.AcceptsClientCertificates {
		p.setCondition(scopegatev1alpha1.ConditionClientCAResolved, metav1.ConditionFalse, scopegatev1alpha1.ReasonTLSDisabled,
			"spec.tlsClientCertificate: the listeners serve plain HTTP (--tls-mode=off), so no connection presents a client certificate")
		return ctrl.Result{}, false, nil
	}
	res := ctrl.Result{RequeueAfter: r.clientCARecheck()}
	trust, err := clientTrust(ctx, r.APIReader, obj, p.now)
	var caErr *clientCAError
	switch {
	case errors.As(err, &caErr):
		if p.setCondition(scopegatev1alpha1.ConditionClientCAResolved, metav1.ConditionFalse, caErr.Reason, caErr.Message) {
			r.event(obj, corev1.EventTypeWarning, caErr.Reason, "ResolveClientCA", caErr.Message)
		}
	case err != nil:
		return res, false, err
	default:
		p.setCondition(scopegatev1alpha1.ConditionClientCAResolved, metav1.ConditionTrue, scopegatev1alpha1.ReasonResolved,
			fmt.Sprintf("Client certificates that chain to %s and carry the %s authenticate the client", trust.Origin, trust.Subject()))
	}
	return res, false, nil
}
