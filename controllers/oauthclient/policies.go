package oauthclient

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/accesstoken"
)

// Input is everything the re-issue policies look at. It is plain data, so the
// policies are pure functions of it.
type Input struct {
	// Secret is the token Secret, nil when it does not exist.
	Secret *corev1.Secret
	// Token is the token parsed from Secret; nil when Secret is nil or
	// broken, in which case ParseErr says why.
	Token    *storedToken
	ParseErr error
	// Revision is the token revision the status last recorded, 0 for none.
	Revision int64
	// SpecHash is the digest of the token-relevant spec now.
	SpecHash string
	// RenewBefore is spec.tokenSecret.renewBefore, nil when unset.
	RenewBefore *time.Duration
	// Keys tells whether a signing key was retired; nil means never.
	Keys accesstoken.KeyRetirement
	Now  time.Time
}

// Policy reports whether the token must be re-issued, and why. reason is one
// of the Reason* constants of api/v1alpha1.
type Policy func(Input) (reason, message string, reissue bool)

// DefaultPolicies is the chain evaluated in order; the first that asks for a
// new token wins. The structural checks come first so that the later ones can
// rely on a parsed token.
func DefaultPolicies() []Policy {
	return []Policy{
		DoesNotExist,
		SpecChanged,
		SecretMismatch,
		SigningKeyRetired,
		Expired,
		Renewing,
	}
}

// Evaluate runs chain over in and returns the first verdict that asks for a
// new token, or reissue=false.
func Evaluate(chain []Policy, in Input) (reason, message string, reissue bool) {
	for _, p := range chain {
		if reason, message, reissue = p(in); reissue {
			return reason, message, true
		}
	}
	return "", "", false
}

// DoesNotExist: there is no token Secret yet, or it was deleted.
func DoesNotExist(in Input) (string, string, bool) {
	if in.Secret == nil {
		return scopegatev1alpha1.ReasonDoesNotExist, "The token Secret does not exist", true
	}
	return "", "", false
}

// SpecChanged: the token was issued for another scope, audience, lifetime,
// plugin or issuer than the spec asks for now.
func SpecChanged(in Input) (string, string, bool) {
	if in.Secret.Annotations[scopegatev1alpha1.AnnotationTokenSpecHash] != in.SpecHash {
		return scopegatev1alpha1.ReasonSpecChanged, "The token-relevant spec changed since the token was issued", true
	}
	return "", "", false
}

// SecretMismatch: the Secret's keys or annotations were edited or deleted,
// or no longer agree with each other.
func SecretMismatch(in Input) (string, string, bool) {
	if in.ParseErr != nil || in.Token == nil {
		return scopegatev1alpha1.ReasonSecretMismatch, fmt.Sprintf("The token Secret is not intact: %v", in.ParseErr), true
	}
	if in.Token.Revision < in.Revision {
		// Revisions only grow; the reconciler re-reads the Secret past the
		// cache before it gets here, so a lower one was edited.
		return scopegatev1alpha1.ReasonSecretMismatch, fmt.Sprintf("The token Secret's revision %d is below the recorded revision %d", in.Token.Revision, in.Revision), true
	}
	return "", "", false
}

// SigningKeyRetired: the key that signed the token is no longer the current
// signing key; a fresh token is signed before the old key leaves the JWKS.
func SigningKeyRetired(in Input) (string, string, bool) {
	if in.Keys != nil && in.Keys.KeyRetired(in.Token.KeyID) {
		return scopegatev1alpha1.ReasonSigningKeyRetired, "The key that signed the token was retired", true
	}
	return "", "", false
}

// Expired: the token is past its exp (RFC 7519 §4.1.4).
func Expired(in Input) (string, string, bool) {
	if !in.Now.Before(in.Token.NotAfter) {
		return scopegatev1alpha1.ReasonExpired, fmt.Sprintf("The token expired at %s", in.Token.NotAfter.Format(time.RFC3339)), true
	}
	return "", "", false
}

// Renewing: the renewal time has come.
func Renewing(in Input) (string, string, bool) {
	at := RenewalTime(in.Token.NotBefore, in.Token.NotAfter, in.RenewBefore)
	if !in.Now.Before(at) {
		return scopegatev1alpha1.ReasonRenewing, fmt.Sprintf("The renewal time %s has come", at.Format(time.RFC3339)), true
	}
	return "", "", false
}
