package oauthclient

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"

	corev1 "k8s.io/api/core/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/registry"
)

// Keys of the credentials Secret (SPEC §4).
const (
	KeyClientID     = "client_id"
	KeyClientSecret = "client_secret"
	KeyTokenURL     = "token_url"
	// KeyCACert is the CA bundle that verifies the token server and the
	// gateway, present while TLS is on (in the token Secret too).
	KeyCACert = "ca.crt"
	// The credentials Secret also has KeyIssuer ("issuer").
)

// clientSecretPattern is what a generated client secret looks like: 32 random
// bytes in unpadded URL-safe base64 (RFC 4648 §5), 43 characters.
var clientSecretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43,}$`)

// newClientSecret returns 256 bits from crypto/rand as 43 URL-safe characters.
func newClientSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random client secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hexDigest(secret string) string {
	d := registry.Digest(secret)
	return hex.EncodeToString(d[:])
}

// currentDigest is the digest of the Secret's client_secret when the secret
// is well-formed and is the one the controller wrote (its digest annotation
// matches); ok is false for a missing, malformed or edited secret, which must
// not authenticate anyone.
func currentDigest(s *corev1.Secret) (d [sha256.Size]byte, ok bool) {
	secret := string(s.Data[KeyClientSecret])
	if !clientSecretPattern.MatchString(secret) {
		return d, false
	}
	d = registry.Digest(secret)
	if hex.EncodeToString(d[:]) != s.Annotations[scopegatev1alpha1.AnnotationSecretDigest] {
		return d, false
	}
	return d, true
}

// previousDigest is the rotated-out secret's digest and expiry, when the
// Secret records one.
func previousDigest(s *corev1.Secret) (registry.SecretDigest, bool) {
	var out registry.SecretDigest
	raw, err := hex.DecodeString(s.Annotations[scopegatev1alpha1.AnnotationPreviousSecretDigest])
	if err != nil || len(raw) != sha256.Size {
		return out, false
	}
	notAfter, err := time.Parse(time.RFC3339, s.Annotations[scopegatev1alpha1.AnnotationPreviousSecretNotAfter])
	if err != nil {
		return out, false
	}
	copy(out.Digest[:], raw)
	out.NotAfter = notAfter
	return out, true
}

// credentialsChange says what convergeCredentials did to a Secret.
type credentialsChange struct {
	// Rotated: a new secret answers a new rotation annotation; the previous
	// one stays valid for the grace period.
	Rotated bool
	// Regenerated: client_secret was missing (also after a switch back from
	// clientAuthentication serviceAccountToken), malformed or edited and
	// was replaced; an edited value is not trusted and gets no grace period.
	Regenerated bool
	// SecretRemoved: a client that authenticates with ServiceAccount tokens
	// had a client secret, which was removed.
	SecretRemoved bool
	// Repaired lists the other keys that were restored.
	Repaired []string
	// PreviousDropped: the grace period of the previous secret ended.
	PreviousDropped bool
	// Metadata: labels were restored.
	Metadata bool
	// Bundle: ca.crt was set to the current CA bundle (a rotation, or TLS
	// turned on or off).
	Bundle bool
	// PreviousNotAfter is when the previous secret stops working, zero when
	// there is none; the controller comes back then to drop it.
	PreviousNotAfter time.Time
	// ClientCert: tls.crt and tls.key were issued or removed
	// (spec.tlsClientAuth); ClientCertRenewAt is when the certificate is
	// due for renewal, zero when there is none.
	ClientCert        bool
	ClientCertRenewAt time.Time
}

// Changed reports whether the Secret must be written.
func (c credentialsChange) Changed() bool {
	return c.Rotated || c.Regenerated || c.SecretRemoved || len(c.Repaired) > 0 || c.PreviousDropped || c.Metadata || c.Bundle || c.ClientCert
}

// convergeBundle makes ca.crt of s the bundle (removed when there is none)
// and reports whether it changed.
func convergeBundle(s *corev1.Secret, bundle []byte) bool {
	if len(bundle) == 0 {
		if _, ok := s.Data[KeyCACert]; ok {
			delete(s.Data, KeyCACert)
			return true
		}
		return false
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	if bytes.Equal(s.Data[KeyCACert], bundle) {
		return false
	}
	s.Data[KeyCACert] = bytes.Clone(bundle)
	return true
}

// desiredCredentials are the keys of the credentials Secret besides the
// secret itself.
func desiredCredentials(c *scopegatev1alpha1.OAuthClient, o *Options) map[string]string {
	return map[string]string{
		KeyClientID: c.ClientID(),
		KeyTokenURL: o.TokenURL,
		KeyIssuer:   o.Issuer,
	}
}

// convergeCredentials brings the credentials Secret s to the desired state
// in memory: labels, keys, rotation and the previous secret's grace period.
func convergeCredentials(s *corev1.Secret, c *scopegatev1alpha1.OAuthClient, o *Options, now time.Time) (credentialsChange, error) {
	var ch credentialsChange
	ch.Metadata = setMetadata(s, nil)
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	if !c.UsesClientSecret() {
		// clientAuthentication serviceAccountToken: no secret exists. One
		// left from before the switch is removed with its digests, so it
		// authenticates no one, on no replica.
		ch.SecretRemoved = dropClientSecret(s)
		repairCredentialKeys(s, c, o, &ch)
		var err error
		ch.ClientCert, ch.ClientCertRenewAt, err = convergeClientCert(s, c, o, now)
		return ch, err
	}
	current, valid := currentDigest(s)

	if !valid {
		if err := setClientSecret(s); err != nil {
			return ch, err
		}
		ch.Regenerated = true
	}
	if want := c.Annotations[scopegatev1alpha1.AnnotationRotateCredentials]; want != "" && want != s.Annotations[scopegatev1alpha1.AnnotationRotation] {
		if !ch.Regenerated {
			s.Annotations[scopegatev1alpha1.AnnotationPreviousSecretDigest] = hex.EncodeToString(current[:])
			s.Annotations[scopegatev1alpha1.AnnotationPreviousSecretNotAfter] = now.Add(scopegatev1alpha1.CredentialsGracePeriod).UTC().Format(time.RFC3339)
			if err := setClientSecret(s); err != nil {
				return ch, err
			}
		}
		s.Annotations[scopegatev1alpha1.AnnotationRotation] = want
		ch.Rotated = true
	}
	repairCredentialKeys(s, c, o, &ch)
	var err error
	if ch.ClientCert, ch.ClientCertRenewAt, err = convergeClientCert(s, c, o, now); err != nil {
		return ch, err
	}

	_, hasDigest := s.Annotations[scopegatev1alpha1.AnnotationPreviousSecretDigest]
	_, hasNotAfter := s.Annotations[scopegatev1alpha1.AnnotationPreviousSecretNotAfter]
	if prev, ok := previousDigest(s); ok && now.Before(prev.NotAfter) {
		ch.PreviousNotAfter = prev.NotAfter
	} else if hasDigest || hasNotAfter {
		delete(s.Annotations, scopegatev1alpha1.AnnotationPreviousSecretDigest)
		delete(s.Annotations, scopegatev1alpha1.AnnotationPreviousSecretNotAfter)
		ch.PreviousDropped = true
	}
	return ch, nil
}

// repairCredentialKeys restores client_id, token_url and issuer, and sets
// ca.crt to the current CA bundle.
func repairCredentialKeys(s *corev1.Secret, c *scopegatev1alpha1.OAuthClient, o *Options, ch *credentialsChange) {
	want := desiredCredentials(c, o)
	for _, k := range []string{KeyClientID, KeyTokenURL, KeyIssuer} {
		if v := want[k]; string(s.Data[k]) != v {
			s.Data[k] = []byte(v)
			ch.Repaired = append(ch.Repaired, k)
		}
	}
	ch.Bundle = convergeBundle(s, o.bundle())
}

// dropClientSecret removes the client secret and every digest of one from
// s, and reports whether there was anything to remove.
func dropClientSecret(s *corev1.Secret) bool {
	_, had := s.Data[KeyClientSecret]
	delete(s.Data, KeyClientSecret)
	for _, a := range []string{scopegatev1alpha1.AnnotationSecretDigest, scopegatev1alpha1.AnnotationPreviousSecretDigest,
		scopegatev1alpha1.AnnotationPreviousSecretNotAfter, scopegatev1alpha1.AnnotationRotation} {
		if _, ok := s.Annotations[a]; ok {
			delete(s.Annotations, a)
			had = true
		}
	}
	return had
}

// setClientSecret writes a fresh client secret and its digest annotation.
func setClientSecret(s *corev1.Secret) error {
	secret, err := newClientSecret()
	if err != nil {
		return err
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	s.Data[KeyClientSecret] = []byte(secret)
	s.Annotations[scopegatev1alpha1.AnnotationSecretDigest] = hexDigest(secret)
	return nil
}
