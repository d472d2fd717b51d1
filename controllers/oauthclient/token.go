package oauthclient

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/owned"
	"github.com/scopegate/scopegate/tokenserver/keys"
)

// reconcileToken keeps a valid access token in the token Secret when
// spec.tokenSecret is set, re-issuing it when a policy says so.
func (r *Reconciler) reconcileToken(ctx context.Context, p *pass) (ctrl.Result, bool, error) {
	obj, ts := p.obj, p.token
	if p.invalid != nil {
		// Terminal: retrying cannot help until the spec changes. The token
		// Secret is left as it is; it is neither renewed nor deleted.
		p.setCondition(scopegatev1alpha1.ConditionTokenReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonInvalidSpec, p.invalid.Error())
		return ctrl.Result{}, true, reconcile.TerminalError(p.invalid)
	}
	if err := r.deleteStaleTokenSecret(ctx, p); err != nil {
		return ctrl.Result{}, false, err
	}
	if ts == nil {
		meta.RemoveStatusCondition(&obj.Status.Conditions, scopegatev1alpha1.ConditionTokenReady)
		obj.Status.Token, obj.Status.FailedIssuanceAttempts, obj.Status.LastFailureTime = nil, 0, nil
		return ctrl.Result{}, false, nil
	}
	if obj.Spec.Suspended {
		p.setCondition(scopegatev1alpha1.ConditionTokenReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonSuspended, "The client is suspended; its token is neither issued nor renewed")
		return ctrl.Result{}, false, nil
	}
	if !p.credentialsReady {
		p.setCondition(scopegatev1alpha1.ConditionTokenReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonWaiting, "Waiting for the credentials Secret")
		return ctrl.Result{}, false, nil
	}

	// A pass that wrote this Secret before, or met a foreign one there,
	// confirms a cache miss with the API server; a new client's Secret is
	// created at once, and a create answered AlreadyExists is resolved with
	// an uncached read (see lookupSecret).
	confirm := (obj.Status.Token != nil && obj.Status.Token.SecretName == ts.SecretName) ||
		p.wasReason(scopegatev1alpha1.ConditionTokenReady, scopegatev1alpha1.ReasonSecretConflict)
	found, err := lookupSecret(ctx, r.Client, r.APIReader, obj, ts.SecretName, confirm)
	if err != nil {
		return ctrl.Result{}, false, err
	}
	res, stop, err := r.convergeToken(ctx, p, found)
	if !apierrors.IsAlreadyExists(err) {
		return res, stop, err
	}
	// Nothing was written and the status is untouched: decide again on
	// what the API server holds.
	if found, err = lookupLive(ctx, r.APIReader, obj, ts.SecretName); err != nil {
		return ctrl.Result{}, false, err
	}
	if found.Secret == nil && !found.Foreign {
		return ctrl.Result{}, false, fmt.Errorf("token Secret %s/%s: %w", obj.Namespace, ts.SecretName, errSecretVanished)
	}
	return r.convergeToken(ctx, p, found)
}

// convergeToken decides on the token Secret found and converges it: a
// conflict for a foreign Secret, else keep or re-issue as the policies say.
func (r *Reconciler) convergeToken(ctx context.Context, p *pass, found secretLookup) (ctrl.Result, bool, error) {
	obj, ts := p.obj, p.token
	var err error
	if found.Foreign {
		msg := fmt.Sprintf("Secret %s exists and is not owned by this OAuthClient; it is left untouched", ts.SecretName)
		if p.setCondition(scopegatev1alpha1.ConditionTokenReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonSecretConflict, msg) {
			r.event(obj, corev1.EventTypeWarning, scopegatev1alpha1.ReasonSecretConflict, "IssueToken", msg)
		}
		return ctrl.Result{RequeueAfter: conflictRecheck}, false, nil
	}
	secret := found.Secret
	if secret != nil && obj.Status.Token != nil && storedRevision(secret) < obj.Status.Token.Revision {
		// The cache may not have seen our last write yet; ask the API
		// server before concluding that the Secret went back in time.
		if secret, err = readLive(ctx, r.APIReader, obj, ts.SecretName); err != nil {
			return ctrl.Result{}, false, err
		}
	}

	in := Input{Secret: secret, SpecHash: ts.Hash(), RenewBefore: ts.RenewBefore, Keys: r.Keys, Now: p.now}
	if st := obj.Status.Token; st != nil && st.SecretName == ts.SecretName {
		in.Revision = st.Revision
	}
	if secret != nil {
		in.Token, in.ParseErr = parseTokenSecret(secret, ts.ClientID)
	}
	reason, message, reissue := Evaluate(DefaultPolicies(), in)
	if !reissue {
		return r.keepToken(ctx, p, secret, in.Token)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Token must be re-issued", "secret", ts.SecretName, "reason", reason, "detail", message)
	var keep *storedToken
	if reason == scopegatev1alpha1.ReasonSigningKeyRetired {
		if _, _, due := Evaluate([]Policy{Expired, Renewing}, in); !due {
			// Re-issued only for the key: if it turns out not to be
			// retired, the token in place is kept.
			keep = in.Token
		}
	}
	return r.issueToken(ctx, p, secret, reason, keep)
}

// keepToken leaves a valid token in place, restoring the Secret's metadata,
// and schedules the renewal.
func (r *Reconciler) keepToken(ctx context.Context, p *pass, secret *corev1.Secret, tok *storedToken) (ctrl.Result, bool, error) {
	ts := p.token
	renewal := RenewalTime(tok.NotBefore, tok.NotAfter, ts.RenewBefore)
	// Written only when the metadata, the bundle or the renewal time
	// changed, with the resourceVersion read.
	_, err := owned.WriteSecret(ctx, r.Client, secret, r.tokenSecret(p, func(s *corev1.Secret) error {
		setMetadata(s, p.obj.Spec.TokenSecret.SecretTemplate)
		convergeBundle(s, r.bundle())
		setKey(&s.Annotations, scopegatev1alpha1.AnnotationRenewalTime, renewal.UTC().Format(time.RFC3339))
		return nil
	}))
	if err != nil {
		return ctrl.Result{}, false, err
	}
	p.obj.Status.Token = tokenStatus(ts.SecretName, tok, renewal)
	p.obj.Status.FailedIssuanceAttempts, p.obj.Status.LastFailureTime = 0, nil
	p.setCondition(scopegatev1alpha1.ConditionTokenReady, metav1.ConditionTrue, scopegatev1alpha1.ReasonIssued,
		fmt.Sprintf("Access token revision %d in Secret %s is valid until %s", tok.Revision, ts.SecretName, tok.NotAfter.UTC().Format(time.RFC3339)))
	return ctrl.Result{RequeueAfter: untilAtLeastASecond(renewal.Sub(p.now))}, false, nil
}

// issueToken signs a new token and writes it to the token Secret, unless the
// back-off after failures says to wait. keep, when set, is a still-valid
// token replaced only because its signing key looked retired; it is kept
// when that cannot be confirmed (see keepForKey).
func (r *Reconciler) issueToken(ctx context.Context, p *pass, secret *corev1.Secret, reason string, keep *storedToken) (ctrl.Result, bool, error) {
	obj, ts := p.obj, p.token
	if n, last := obj.Status.FailedIssuanceAttempts, obj.Status.LastFailureTime; n > 0 && last != nil {
		if next := last.Add(Backoff(n)); p.now.Before(next) {
			// Still failed, as last said; restated for this generation.
			if c := meta.FindStatusCondition(p.before.Conditions, scopegatev1alpha1.ConditionTokenReady); c != nil {
				p.setCondition(c.Type, c.Status, c.Reason, c.Message)
			}
			return ctrl.Result{RequeueAfter: untilAtLeastASecond(next.Sub(p.now))}, false, nil
		}
	}
	issued, err := r.Tokens.Issue(ctx, accesstoken.IssueRequest{
		ClientID:  ts.ClientID,
		Scopes:    ts.Scopes,
		Audiences: ts.Audiences,
		TTL:       ts.Duration,
		PluginID:  ts.PluginID,
	})
	if keep != nil && keepForKey(keep, issued, err) {
		ctrl.LoggerFrom(ctx).V(1).Info("The signing key of the token is not retired after all; keeping the token", "secret", ts.SecretName, "kid", keep.KeyID)
		res, stop, kerr := r.keepToken(ctx, p, secret, keep)
		if err != nil {
			res.RequeueAfter = min(res.RequeueAfter, keysPendingRecheck)
		}
		return res, stop, kerr
	}
	if err != nil {
		r.Metrics.issuance(issuanceFailed, reason)
		return r.issuanceFailed(ctx, p, fmt.Errorf("issue access token: %w", err))
	}
	revision := storedRevision(secret) + 1
	if obj.Status.Token != nil && obj.Status.Token.Revision >= revision {
		revision = obj.Status.Token.Revision + 1
	}
	var tok *storedToken
	var buildErr error
	_, err = owned.WriteSecret(ctx, r.Client, secret, r.tokenSecret(p, func(s *corev1.Secret) error {
		tok, buildErr = r.fillTokenSecret(p, s, issued, revision)
		return buildErr
	}))
	if buildErr != nil {
		r.Metrics.issuance(issuanceFailed, reason)
		return r.issuanceFailed(ctx, p, buildErr)
	}
	if err != nil {
		return ctrl.Result{}, false, err
	}

	r.Metrics.issuance(issuanceIssued, reason)
	renewal := RenewalTime(tok.NotBefore, tok.NotAfter, ts.RenewBefore)
	failures := obj.Status.FailedIssuanceAttempts
	obj.Status.Token = tokenStatus(ts.SecretName, tok, renewal)
	obj.Status.FailedIssuanceAttempts, obj.Status.LastFailureTime = 0, nil
	p.setCondition(scopegatev1alpha1.ConditionTokenReady, metav1.ConditionTrue, scopegatev1alpha1.ReasonIssued,
		fmt.Sprintf("Access token revision %d in Secret %s is valid until %s", revision, ts.SecretName, tok.NotAfter.UTC().Format(time.RFC3339)))
	note := fmt.Sprintf("Issued access token revision %d into Secret %s (%s), valid until %s",
		revision, ts.SecretName, reason, tok.NotAfter.UTC().Format(time.RFC3339))
	if failures > 0 {
		note += fmt.Sprintf(", after %d failed attempts", failures)
	}
	if p.createdCredentials != "" {
		note = fmt.Sprintf("Created credentials Secret %s; %s", p.createdCredentials, note)
		p.createdCredentials = ""
	}
	eventReason := scopegatev1alpha1.ReasonIssued
	if reason == scopegatev1alpha1.ReasonRenewing || reason == scopegatev1alpha1.ReasonExpired {
		eventReason = "Renewed"
	}
	r.event(obj, corev1.EventTypeNormal, eventReason, "IssueToken", note)
	ctrl.LoggerFrom(ctx).Info("Issued access token", "secret", ts.SecretName, "revision", revision, "reason", reason, "notAfter", tok.NotAfter)
	return ctrl.Result{RequeueAfter: untilAtLeastASecond(renewal.Sub(p.now))}, false, nil
}

// tokenSecret is the token Secret as the client owns it: converge brings
// its keys, labels and annotations to the desired state, and the client is
// its controller. A Secret's type is immutable, so one of another type is
// replaced.
func (r *Reconciler) tokenSecret(p *pass, converge func(*corev1.Secret) error) owned.Secret {
	return owned.Secret{
		What:             "token Secret",
		Key:              client.ObjectKey{Namespace: p.obj.Namespace, Name: p.token.SecretName},
		Type:             scopegatev1alpha1.SecretTypeAccessToken,
		ReplaceOtherType: true,
		Mutate:           converge,
		Owner:            &owned.Owner{Object: p.obj, Scheme: r.Scheme(), Controller: true},
	}
}

// fillTokenSecret puts issued into the token Secret s, and checks it by
// reading it back exactly as the next pass will. Keys of s that are not
// the token's stay.
func (r *Reconciler) fillTokenSecret(p *pass, s *corev1.Secret, issued *accesstoken.IssuedToken, revision int64) (*storedToken, error) {
	ts := p.token
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	maps.Copy(s.Data, tokenSecretData(issued, r.Issuer))
	convergeBundle(s, r.bundle())
	setMetadata(s, p.obj.Spec.TokenSecret.SecretTemplate)
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[scopegatev1alpha1.AnnotationClient] = ts.ClientID
	s.Annotations[scopegatev1alpha1.AnnotationRevision] = strconv.FormatInt(revision, 10)
	s.Annotations[scopegatev1alpha1.AnnotationNotAfter] = string(s.Data[KeyExpiresAt])
	s.Annotations[scopegatev1alpha1.AnnotationTokenSpecHash] = ts.Hash()
	tok, err := parseTokenSecret(s, ts.ClientID)
	if err != nil {
		return nil, fmt.Errorf("the issued token cannot be stored: %w", err)
	}
	renewal := RenewalTime(tok.NotBefore, tok.NotAfter, ts.RenewBefore)
	s.Annotations[scopegatev1alpha1.AnnotationRenewalTime] = renewal.UTC().Format(time.RFC3339)
	return tok, nil
}

// issuanceFailed counts a failure, backs off exponentially and says so once.
func (r *Reconciler) issuanceFailed(ctx context.Context, p *pass, err error) (ctrl.Result, bool, error) {
	obj := p.obj
	obj.Status.FailedIssuanceAttempts++
	obj.Status.LastFailureTime = ptrTime(p.now)
	wait := Backoff(obj.Status.FailedIssuanceAttempts)
	ctrl.LoggerFrom(ctx).Error(err, "Issuing the access token failed", "attempts", obj.Status.FailedIssuanceAttempts, "retryIn", wait)
	msg := fmt.Sprintf("Issuing the access token failed: %v", err)
	if p.setCondition(scopegatev1alpha1.ConditionTokenReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonIssuanceFailed, msg) {
		r.event(obj, corev1.EventTypeWarning, scopegatev1alpha1.ReasonIssuanceFailed, "IssueToken", "%s; retrying with back-off", msg)
	}
	// The back-off is ours, visible in status; returning the error would
	// make controller-runtime retry on its own schedule instead.
	return ctrl.Result{RequeueAfter: wait}, false, nil
}

// deleteStaleTokenSecret removes a token Secret the client owns under a
// name it no longer uses (tokenSecret renamed or removed).
func (r *Reconciler) deleteStaleTokenSecret(ctx context.Context, p *pass) error {
	st := p.obj.Status.Token
	if st == nil || st.SecretName == "" || (p.token != nil && p.token.SecretName == st.SecretName) {
		return nil
	}
	// Rare (a renamed or removed tokenSecret): a cache miss is confirmed,
	// so an unlabelled Secret of ours is deleted too.
	found, err := lookupSecret(ctx, r.Client, r.APIReader, p.obj, st.SecretName, true)
	if err != nil || found.Secret == nil {
		return err
	}
	if err := r.Delete(ctx, found.Secret); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete unused token Secret %s/%s: %w", found.Secret.Namespace, found.Secret.Name, err)
	}
	return nil
}

func tokenStatus(name string, tok *storedToken, renewal time.Time) *scopegatev1alpha1.TokenStatus {
	return &scopegatev1alpha1.TokenStatus{
		SecretName:  name,
		NotBefore:   ptrTime(tok.NotBefore),
		NotAfter:    ptrTime(tok.NotAfter),
		RenewalTime: ptrTime(renewal),
		Revision:    tok.Revision,
	}
}

func untilAtLeastASecond(d time.Duration) time.Duration { return max(d, time.Second) }

// keysPendingRecheck is how soon a replica whose signing keys are not loaded
// yet looks again at a token whose key it could not judge.
const keysPendingRecheck = 5 * time.Second

// keepForKey reports whether a valid token, about to be replaced because its
// signing key looked retired, is kept after all. A key ring that has loaded
// no key yet (a replica that just started) calls every key retired, so
//
//   - when no key can sign (keys.ErrNoKey), nothing can be told and the
//     token in place is still valid: it is kept, not counted as a failure;
//   - when the key that signed the token signs the new one, it was not
//     retired (the keys were loaded in between): the new token is dropped.
//
// Either way a manager restart re-issues nothing.
func keepForKey(current *storedToken, issued *accesstoken.IssuedToken, err error) bool {
	if err != nil {
		return errors.Is(err, keys.ErrNoKey)
	}
	return issued.KeyID != "" && issued.KeyID == current.KeyID
}
