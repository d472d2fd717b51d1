package oauthclient

import (
	"encoding/hex"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/registry"
)

func TestConvergeCredentials(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	opts := &Options{Issuer: testIssuer}
	if err := opts.complete(); err != nil {
		t.Fatal(err)
	}
	client := newClient(nil)
	fresh := func(t *testing.T) *corev1.Secret {
		s := &corev1.Secret{}
		ch, err := convergeCredentials(s, client, opts, clk.Now())
		if err != nil || !ch.Regenerated {
			t.Fatalf("a new Secret got %+v, %v", ch, err)
		}
		return s
	}

	t.Run("A new Secret gets every key, a 43-character secret and its digest", func(t *testing.T) {
		s := fresh(t)
		if got := string(s.Data[KeyClientID]); got != "team-a.c" {
			t.Errorf("client_id = %q", got)
		}
		if got := string(s.Data[KeyTokenURL]); got != testIssuer+"/oauth/token" {
			t.Errorf("token_url = %q", got)
		}
		if got := string(s.Data[KeyIssuer]); got != testIssuer {
			t.Errorf("issuer = %q", got)
		}
		if secret := string(s.Data[KeyClientSecret]); len(secret) < 43 || !clientSecretPattern.MatchString(secret) {
			t.Errorf("client_secret has %d characters or a character outside the URL-safe alphabet", len(secret))
		}
		if _, ok := currentDigest(s); !ok {
			t.Error("the digest annotation does not match the secret")
		}
		if s.Labels[LabelManagedBy] != ManagedBy {
			t.Error("the managed-by label is missing")
		}
	})

	t.Run("An intact Secret is left alone", func(t *testing.T) {
		s := fresh(t)
		ch, err := convergeCredentials(s, client, opts, clk.Now())
		if err != nil || ch.Changed() {
			t.Fatalf("got %+v, %v", ch, err)
		}
	})

	t.Run("Two Secrets never share a secret", func(t *testing.T) {
		if string(fresh(t).Data[KeyClientSecret]) == string(fresh(t).Data[KeyClientSecret]) {
			t.Fatal("two generated secrets are equal")
		}
	})

	t.Run("An edited client_secret is replaced, not trusted, and gets no grace", func(t *testing.T) {
		s := fresh(t)
		s.Data[KeyClientSecret] = []byte("0123456789012345678901234567890123456789abcd")
		ch, err := convergeCredentials(s, client, opts, clk.Now())
		if err != nil || !ch.Regenerated {
			t.Fatalf("got %+v, %v", ch, err)
		}
		if string(s.Data[KeyClientSecret]) == "0123456789012345678901234567890123456789abcd" {
			t.Fatal("the edited secret was kept")
		}
		if _, ok := previousDigest(s); ok {
			t.Fatal("the edited secret got a grace period")
		}
	})

	t.Run("Edited keys besides the secret are restored", func(t *testing.T) {
		s := fresh(t)
		secret := string(s.Data[KeyClientSecret])
		s.Data[KeyTokenURL] = []byte("https://evil.test/token")
		delete(s.Data, KeyClientID)
		ch, err := convergeCredentials(s, client, opts, clk.Now())
		if err != nil || len(ch.Repaired) != 2 || ch.Regenerated {
			t.Fatalf("got %+v, %v", ch, err)
		}
		if string(s.Data[KeyClientSecret]) != secret || string(s.Data[KeyTokenURL]) != testIssuer+"/oauth/token" {
			t.Fatal("the repair changed the secret or did not restore token_url")
		}
	})

	t.Run("A rotation keeps the previous digest for the grace period, then drops it", func(t *testing.T) {
		s := fresh(t)
		old := string(s.Data[KeyClientSecret])
		rotated := client.DeepCopy()
		rotated.Annotations = map[string]string{scopegatev1alpha1.AnnotationRotateCredentials: "1"}
		ch, err := convergeCredentials(s, rotated, opts, clk.Now())
		if err != nil || !ch.Rotated || ch.Regenerated {
			t.Fatalf("got %+v, %v", ch, err)
		}
		if string(s.Data[KeyClientSecret]) == old {
			t.Fatal("the secret did not change")
		}
		prev, ok := previousDigest(s)
		if !ok || prev.Digest != registry.Digest(old) || !prev.NotAfter.Equal(clk.Now().Add(scopegatev1alpha1.CredentialsGracePeriod)) {
			t.Fatalf("previous digest %x until %s, ok=%v", prev.Digest, prev.NotAfter, ok)
		}
		for _, v := range s.Annotations {
			if v == old {
				t.Fatal("an annotation holds the previous secret itself")
			}
		}
		if ch2, _ := convergeCredentials(s, rotated, opts, clk.Now()); ch2.Changed() {
			t.Fatalf("the same rotation value rotated again: %+v", ch2)
		}
		if ch3, _ := convergeCredentials(s, rotated, opts, clk.Now().Add(scopegatev1alpha1.CredentialsGracePeriod)); !ch3.PreviousDropped {
			t.Fatal("the previous digest outlived the grace period")
		}
		if _, ok := s.Annotations[scopegatev1alpha1.AnnotationPreviousSecretDigest]; ok {
			t.Fatal("the previous digest annotation is still there")
		}
	})

	t.Run("A registry entry has the current digest only while the Secret is intact", func(t *testing.T) {
		s := fresh(t)
		s.OwnerReferences = nil
		c := ClientFor(client, s)
		d := registry.Digest(string(s.Data[KeyClientSecret]))
		if len(c.Secrets) != 1 || c.Secrets[0].Digest != d || !c.CheckSecret(string(s.Data[KeyClientSecret]), clk.Now()) {
			t.Fatalf("registry entry secrets %d", len(c.Secrets))
		}
		s.Annotations[scopegatev1alpha1.AnnotationSecretDigest] = hex.EncodeToString(make([]byte, 32))
		if c := ClientFor(client, s); len(c.Secrets) != 0 {
			t.Fatal("an edited secret is registered")
		}
	})
}
