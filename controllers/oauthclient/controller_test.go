package oauthclient

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/registry"
)

var _ = Describe("OAuthClient controller", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("writes the credentials and token Secrets with every key, annotation and owner", func() {
		createClient(ns, "writer", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret.SecretTemplate = &scopegatev1alpha1.SecretTemplate{
				Labels:      map[string]string{"team": "a"},
				Annotations: map[string]string{"example.com/mounted-by": "agent"},
			}
		})
		c := waitRevision(ns, "writer", 1)

		By("the status")
		Expect(c.Status.ClientID).To(Equal(ns + ".writer"))
		Expect(c.Status.ObservedGeneration).To(Equal(c.Generation))
		for _, t := range []string{scopegatev1alpha1.ConditionReady, scopegatev1alpha1.ConditionCredentialsReady, scopegatev1alpha1.ConditionTokenReady} {
			cond := condition(c, t)
			Expect(cond).NotTo(BeNil(), t)
			Expect(cond.Status).To(Equal(metav1.ConditionTrue), t)
			Expect(cond.ObservedGeneration).To(Equal(c.Generation), t)
			Expect(cond.Reason).NotTo(BeEmpty(), t)
		}
		Expect(c.Status.Credentials.SecretName).To(Equal("writer-credentials"))
		Expect(c.Status.Token.SecretName).To(Equal("writer-token"))
		Expect(c.Status.Token.NotAfter.Sub(c.Status.Token.NotBefore.Time)).To(Equal(time.Hour))
		Expect(c.Status.Token.RenewalTime.Time).To(Equal(c.Status.Token.NotBefore.Add(40 * time.Minute)))

		By("the credentials Secret")
		creds := getSecret(ns, "writer-credentials")
		Expect(metav1.IsControlledBy(creds, c)).To(BeTrue())
		Expect(creds.Labels).To(HaveKeyWithValue(LabelManagedBy, ManagedBy))
		Expect(string(creds.Data[KeyClientID])).To(Equal(ns + ".writer"))
		Expect(string(creds.Data[KeyClientSecret])).To(MatchRegexp(`^[A-Za-z0-9_-]{43,}$`))
		Expect(string(creds.Data[KeyTokenURL])).To(Equal(suiteIssuer + "/oauth/token"))
		Expect(string(creds.Data[KeyIssuer])).To(Equal(suiteIssuer))
		Expect(creds.Data[KeyCACert]).To(Equal(caBundle.Bundle()))

		By("the token Secret")
		tok := getSecret(ns, "writer-token")
		Expect(metav1.IsControlledBy(tok, c)).To(BeTrue())
		Expect(string(tok.Type)).To(Equal(scopegatev1alpha1.SecretTypeAccessToken))
		Expect(tok.Data).To(HaveLen(8))
		Expect(tok.Data[KeyCACert]).To(Equal(caBundle.Bundle()))
		Expect(string(tok.Data[KeyTokenType])).To(Equal("Bearer"))
		Expect(string(tok.Data[KeyScope])).To(Equal("mcp mcp:github:read"))
		Expect(string(tok.Data[KeyAudience])).To(Equal("mcp"))
		Expect(string(tok.Data[KeyIssuer])).To(Equal(suiteIssuer))
		Expect(string(tok.Data[KeyExpiresAt])).To(Equal(c.Status.Token.NotAfter.UTC().Format(time.RFC3339)))
		var doc map[string]string
		Expect(json.Unmarshal(tok.Data[KeyTokenJSON], &doc)).To(Succeed())
		for _, k := range []string{KeyAccessToken, KeyTokenType, KeyExpiresAt, KeyScope, KeyAudience, KeyIssuer} {
			Expect(doc).To(HaveKeyWithValue(k, string(tok.Data[k])))
		}
		Expect(tok.Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationClient, ns+".writer"))
		Expect(tok.Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationRevision, "1"))
		Expect(tok.Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationNotAfter, string(tok.Data[KeyExpiresAt])))
		Expect(tok.Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationRenewalTime, c.Status.Token.RenewalTime.UTC().Format(time.RFC3339)))
		Expect(tok.Annotations).To(HaveKeyWithValue("example.com/mounted-by", "agent"))
		Expect(tok.Labels).To(HaveKeyWithValue("team", "a"))

		By("events and metrics")
		// A new client's credentials and first token are one event.
		Eventually(func() []string { return eventReasons(ns, "writer") }).Should(ContainElement("Normal/Issued"))
		Expect(eventReasons(ns, "writer")).NotTo(ContainElement("Normal/SecretCreated"))
		Expect(eventsFor(ns, "writer")[0].Note).To(HavePrefix("Created credentials Secret writer-credentials; Issued access token revision 1 into Secret writer-token"))
		for _, e := range eventsFor(ns, "writer") {
			Expect(e.Note).NotTo(ContainSubstring(string(creds.Data[KeyClientSecret])))
			Expect(e.Note).NotTo(ContainSubstring(string(tok.Data[KeyAccessToken])))
		}
		Eventually(func() float64 {
			v, _ := gauge(mgr.metrics, "scopegate_token_secret_expiration_timestamp_seconds", ns, "writer")
			return v
		}).Should(Equal(float64(c.Status.Token.NotAfter.Unix())))
		Eventually(func() float64 {
			v, _ := gauge(mgr.metrics, "scopegate_oauthclient_ready", ns, "writer")
			return v
		}).Should(Equal(1.0))
	})

	It("signs a token that verifies against the JWKS and carries exactly the requested scopes and audiences", func() {
		createClient(ns, "signer", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.Scopes = []scopegatev1alpha1.Scope{"mcp", "mcp:github:read", "a2a"}
			c.Spec.PluginID = "github"
			c.Spec.TokenSecret.Scopes = []scopegatev1alpha1.Scope{"mcp:github:read", "a2a"}
			c.Spec.TokenSecret.Audiences = []scopegatev1alpha1.Audience{"mcp", "https://agents.example.com/a2a"}
		})
		waitRevision(ns, "signer", 1)
		raw := string(getSecret(ns, "signer-token").Data[KeyAccessToken])

		claims := verifyWithJWKS(raw)
		Expect(claims.Scopes()).To(Equal([]string{"mcp:github:read", "a2a"}))
		Expect([]string(claims.Audience)).To(Equal([]string{"mcp", "https://agents.example.com/a2a"}))
		Expect(claims.ClientID).To(Equal(ns + ".signer"))
		Expect(claims.Subject).To(Equal(registry.SubjectFor(ns + ".signer")))
		Expect(claims.PluginID).To(Equal("github"))

		By("the credentials authenticate at the token endpoint and introspection accepts the token")
		id, secret := credentials(ns, "signer")
		Eventually(func() int { rec, _ := requestToken(id, secret, "mcp"); return rec.Code }).Should(Equal(http.StatusOK))
		Expect(introspect(id, secret, raw)).To(BeTrue())
	})

	It("renews the token at its renewal time, after renewBefore changed, and bumps the revision", func() {
		createClient(ns, "renewer", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret.Duration = &metav1.Duration{Duration: time.Hour}
			c.Spec.TokenSecret.RenewBefore = &metav1.Duration{Duration: 10 * time.Minute}
		})
		first := waitRevision(ns, "renewer", 1)
		oldToken := string(getSecret(ns, "renewer-token").Data[KeyAccessToken])
		issued := first.Status.Token.NotBefore.Time
		Expect(first.Status.Token.RenewalTime.Time).To(Equal(issued.Add(50 * time.Minute)))

		By("a longer renewBefore moves the renewal time earlier without a new token")
		// The clock stands before both renewal times, so a reconcile that
		// still reads the old spec (a Secret event of the first issue can be
		// queued behind this update) has nothing to renew either.
		clk.SetTime(issued.Add(40*time.Minute - 2*time.Second))
		updateClient(ns, "renewer", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret.RenewBefore = &metav1.Duration{Duration: 20 * time.Minute}
		})
		Eventually(func(g Gomega) {
			c := getClient(ns, "renewer")
			g.Expect(c.Status.Token.RenewalTime.Time).To(Equal(issued.Add(40 * time.Minute)))
			g.Expect(c.Status.Token.Revision).To(Equal(int64(1)))
		}).Should(Succeed())

		By("the requeue at the renewal time re-issues, with nothing else waking the controller")
		clk.Step(3 * time.Second)
		renewed := waitRevision(ns, "renewer", 2)
		Expect(renewed.Status.Token.NotBefore.Time).To(Equal(clk.Now()))
		tok := getSecret(ns, "renewer-token")
		Expect(string(tok.Data[KeyAccessToken])).NotTo(Equal(oldToken))
		Expect(tok.Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationRevision, "2"))
		verifyWithJWKS(string(tok.Data[KeyAccessToken]))
		Eventually(func() []string { return eventReasons(ns, "renewer") }).Should(ContainElement("Normal/Renewed"))
	})

	It("schedules a two-minute token with renewBefore 1m 90s before its expiry", func() {
		// The kubelet can take about a minute to refresh a mounted Secret:
		// renewing 60s ahead could hand a pod an expired token.
		createClient(ns, "short", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.AccessTokenTTL = &metav1.Duration{Duration: 2 * time.Minute}
			c.Spec.TokenSecret.Duration = &metav1.Duration{Duration: 2 * time.Minute}
			c.Spec.TokenSecret.RenewBefore = &metav1.Duration{Duration: time.Minute}
		})
		c := waitRevision(ns, "short", 1)
		Expect(c.Status.Token.NotAfter.Sub(c.Status.Token.NotBefore.Time)).To(Equal(2 * time.Minute))
		Expect(c.Status.Token.RenewalTime.Time).To(Equal(c.Status.Token.NotAfter.Add(-90 * time.Second)))
		Expect(getSecret(ns, "short-token").Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationRenewalTime,
			c.Status.Token.NotBefore.Add(30*time.Second).UTC().Format(time.RFC3339)))
	})

	It("re-issues the token when its scopes change", func() {
		createClient(ns, "scoped", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret.Scopes = []scopegatev1alpha1.Scope{"mcp"}
		})
		waitRevision(ns, "scoped", 1)
		oldHash := getSecret(ns, "scoped-token").Annotations[scopegatev1alpha1.AnnotationTokenSpecHash]
		Expect(oldHash).NotTo(BeEmpty())

		updateClient(ns, "scoped", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret.Scopes = []scopegatev1alpha1.Scope{"mcp", "mcp:github:read"}
		})
		waitRevision(ns, "scoped", 2)
		tok := getSecret(ns, "scoped-token")
		Expect(string(tok.Data[KeyScope])).To(Equal("mcp mcp:github:read"))
		Expect(verifyWithJWKS(string(tok.Data[KeyAccessToken])).Scopes()).To(Equal([]string{"mcp", "mcp:github:read"}))
		Expect(tok.Annotations[scopegatev1alpha1.AnnotationTokenSpecHash]).NotTo(Equal(oldHash))
		Eventually(func() []string {
			var notes []string
			for _, e := range eventsFor(ns, "scoped") {
				notes = append(notes, e.Note)
			}
			return notes
		}).Should(ContainElement(ContainSubstring(scopegatev1alpha1.ReasonSpecChanged)))
	})

	It("recreates a deleted token Secret with the next revision", func() {
		createClient(ns, "deleted-token", nil)
		waitRevision(ns, "deleted-token", 1)
		Expect(k8s.Delete(ctx, getSecret(ns, "deleted-token-token"))).To(Succeed())
		waitRevision(ns, "deleted-token", 2)
		verifyWithJWKS(string(getSecret(ns, "deleted-token-token").Data[KeyAccessToken]))
	})

	It("re-issues a token whose Secret was edited", func() {
		createClient(ns, "edited-token", nil)
		waitRevision(ns, "edited-token", 1)
		s := getSecret(ns, "edited-token-token")
		s.Data[KeyAccessToken] = []byte("eyJhbGciOiJub25lIn0.e30.")
		Expect(k8s.Update(ctx, s)).To(Succeed())

		waitRevision(ns, "edited-token", 2)
		tok := getSecret(ns, "edited-token-token")
		verifyWithJWKS(string(tok.Data[KeyAccessToken]))
		var doc map[string]string
		Expect(json.Unmarshal(tok.Data[KeyTokenJSON], &doc)).To(Succeed())
		Expect(doc[KeyAccessToken]).To(Equal(string(tok.Data[KeyAccessToken])))
	})

	It("deletes the token Secret when spec.tokenSecret is removed", func() {
		createClient(ns, "untokened", nil)
		waitRevision(ns, "untokened", 1)
		updateClient(ns, "untokened", func(c *scopegatev1alpha1.OAuthClient) { c.Spec.TokenSecret = nil })
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "untokened-token"}, &corev1.Secret{}))
		}).Should(BeTrue())
		Eventually(func(g Gomega) {
			c := getClient(ns, "untokened")
			g.Expect(c.Status.Token).To(BeNil())
			g.Expect(condition(c, scopegatev1alpha1.ConditionTokenReady)).To(BeNil())
			g.Expect(condition(c, scopegatev1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
		_, ok := gauge(mgr.metrics, "scopegate_token_secret_expiration_timestamp_seconds", ns, "untokened")
		Expect(ok).To(BeFalse())
	})

	It("restores the Secret template's labels without a new token", func() {
		createClient(ns, "templated", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret.SecretTemplate = &scopegatev1alpha1.SecretTemplate{Labels: map[string]string{"team": "a"}}
		})
		waitRevision(ns, "templated", 1)
		s := getSecret(ns, "templated-token")
		s.Labels["team"] = "b"
		Expect(k8s.Update(ctx, s)).To(Succeed())
		Eventually(func() map[string]string { return getSecret(ns, "templated-token").Labels }).Should(HaveKeyWithValue("team", "a"))
		Expect(getSecret(ns, "templated-token").Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationRevision, "1"))
		Expect(getClient(ns, "templated").Status.Token.Revision).To(Equal(int64(1)))
	})

	It("repairs a deleted or edited credentials Secret with a new secret", func() {
		createClient(ns, "repaired", func(c *scopegatev1alpha1.OAuthClient) { c.Spec.TokenSecret = nil })
		Eventually(func(g Gomega) {
			g.Expect(condition(getClient(ns, "repaired"), scopegatev1alpha1.ConditionReady)).NotTo(BeNil())
			g.Expect(condition(getClient(ns, "repaired"), scopegatev1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
		Expect(condition(getClient(ns, "repaired"), scopegatev1alpha1.ConditionTokenReady)).To(BeNil())
		id, original := credentials(ns, "repaired")

		By("an edited client_secret and token_url")
		s := getSecret(ns, "repaired-credentials")
		s.Data[KeyClientSecret] = []byte("chosen-by-someone-else-0123456789012345678901")
		s.Data[KeyTokenURL] = []byte("https://evil.example.com/token")
		Expect(k8s.Update(ctx, s)).To(Succeed())
		var regenerated string
		Eventually(func(g Gomega) {
			s := getSecret(ns, "repaired-credentials")
			g.Expect(string(s.Data[KeyTokenURL])).To(Equal(suiteIssuer + "/oauth/token"))
			regenerated = string(s.Data[KeyClientSecret])
			g.Expect(regenerated).NotTo(BeElementOf(original, "chosen-by-someone-else-0123456789012345678901"))
		}).Should(Succeed())
		Eventually(func() int { rec, _ := requestToken(id, regenerated, "mcp"); return rec.Code }).Should(Equal(http.StatusOK))
		rec, _ := requestToken(id, "chosen-by-someone-else-0123456789012345678901", "mcp")
		Expect(rec.Code).To(Equal(http.StatusUnauthorized))
		rec, _ = requestToken(id, original, "mcp")
		Expect(rec.Code).To(Equal(http.StatusUnauthorized))
		Eventually(func() []string { return eventReasons(ns, "repaired") }).Should(ContainElement("Warning/CredentialsRepaired"))

		By("a deleted Secret")
		Expect(k8s.Delete(ctx, getSecret(ns, "repaired-credentials"))).To(Succeed())
		var recreated string
		Eventually(func(g Gomega) {
			s := &corev1.Secret{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "repaired-credentials"}, s)).To(Succeed())
			recreated = string(s.Data[KeyClientSecret])
			g.Expect(recreated).NotTo(BeElementOf("", regenerated))
		}).Should(Succeed())
		Eventually(func() int { rec, _ := requestToken(id, recreated, "mcp"); return rec.Code }).Should(Equal(http.StatusOK))
	})

	It("leaves a foreign Secret of the credentials name untouched and reports SecretConflict", func() {
		foreign := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "taken-credentials", Namespace: ns},
			StringData: map[string]string{"password": "hunter2"},
		}
		Expect(k8s.Create(ctx, foreign)).To(Succeed())
		createClient(ns, "taken", nil)

		Eventually(func(g Gomega) {
			c := getClient(ns, "taken")
			for _, t := range []string{scopegatev1alpha1.ConditionReady, scopegatev1alpha1.ConditionCredentialsReady} {
				cond := condition(c, t)
				g.Expect(cond).NotTo(BeNil())
				g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(cond.Reason).To(Equal(scopegatev1alpha1.ReasonSecretConflict))
			}
		}).Should(Succeed())
		Eventually(func() []string { return eventReasons(ns, "taken") }).Should(ContainElement("Warning/SecretConflict"))

		s := getSecret(ns, "taken-credentials")
		Expect(s.Data).To(Equal(map[string][]byte{"password": []byte("hunter2")}))
		Expect(s.OwnerReferences).To(BeEmpty())
		Expect(s.Labels).To(BeEmpty())
		Expect(s.ResourceVersion).To(Equal(foreign.ResourceVersion))
		_, registered := mgr.registry.Get(ns + ".taken")
		Expect(registered).To(BeFalse())
		err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "taken-token"}, &corev1.Secret{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no token is issued for a client without credentials")
	})

	It("keeps the rotated-out secret working for the grace period and not after", func() {
		createClient(ns, "rotated", func(c *scopegatev1alpha1.OAuthClient) { c.Spec.TokenSecret = nil })
		Eventually(func() bool {
			return condition(getClient(ns, "rotated"), scopegatev1alpha1.ConditionReady) != nil
		}).Should(BeTrue())
		id, old := credentials(ns, "rotated")
		Eventually(func() []string { return eventReasons(ns, "rotated") }).Should(ContainElement("Normal/SecretCreated"), "a client without a token Secret reports its credentials alone")
		Eventually(func() int { rec, _ := requestToken(id, old, "mcp"); return rec.Code }).Should(Equal(http.StatusOK))

		updateClient(ns, "rotated", func(c *scopegatev1alpha1.OAuthClient) {
			c.Annotations = map[string]string{scopegatev1alpha1.AnnotationRotateCredentials: "2026-11-27"}
		})
		Eventually(func(g Gomega) {
			c := getClient(ns, "rotated")
			g.Expect(c.Status.Credentials).NotTo(BeNil())
			g.Expect(c.Status.Credentials.Rotation).To(Equal("2026-11-27"))
		}).Should(Succeed())
		_, current := credentials(ns, "rotated")
		Expect(current).NotTo(Equal(old))
		s := getSecret(ns, "rotated-credentials")
		Expect(s.Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationPreviousSecretDigest, hexDigest(old)))
		for _, v := range s.Annotations {
			Expect(v).NotTo(ContainSubstring(old))
		}
		Eventually(func() []string { return eventReasons(ns, "rotated") }).Should(ContainElement("Normal/CredentialsRotated"))

		By("during the grace period both secrets work")
		Eventually(func() int { rec, _ := requestToken(id, current, "mcp"); return rec.Code }).Should(Equal(http.StatusOK))
		rec, _ := requestToken(id, old, "mcp")
		Expect(rec.Code).To(Equal(http.StatusOK))

		By("after it only the new one does")
		clk.Step(scopegatev1alpha1.CredentialsGracePeriod + time.Second)
		rec, body := requestToken(id, old, "mcp")
		Expect(rec.Code).To(Equal(http.StatusUnauthorized))
		Expect(body).To(HaveKeyWithValue("error", "invalid_client"))
		rec, _ = requestToken(id, current, "mcp")
		Expect(rec.Code).To(Equal(http.StatusOK))

		By("the controller drops the previous digest")
		poke(ns, "rotated")
		Eventually(func() map[string]string { return getSecret(ns, "rotated-credentials").Annotations }).
			ShouldNot(HaveKey(scopegatev1alpha1.AnnotationPreviousSecretDigest))
	})

	It("makes the registry, the token endpoint and introspection refuse a suspended client", func() {
		createClient(ns, "auditor", func(c *scopegatev1alpha1.OAuthClient) { c.Spec.TokenSecret = nil })
		createClient(ns, "suspended", nil)
		waitRevision(ns, "suspended", 1)
		auditorID, auditorSecret := credentials(ns, "auditor")
		id, secret := credentials(ns, "suspended")
		raw := string(getSecret(ns, "suspended-token").Data[KeyAccessToken])
		Eventually(func() bool { return introspect(auditorID, auditorSecret, raw) }).Should(BeTrue())

		updateClient(ns, "suspended", func(c *scopegatev1alpha1.OAuthClient) { c.Spec.Suspended = true })
		Eventually(func() bool { c, ok := mgr.registry.Get(id); return ok && c.Suspended }).Should(BeTrue())
		Expect(introspect(auditorID, auditorSecret, raw)).To(BeFalse())
		rec, body := requestToken(id, secret, "mcp")
		Expect(rec.Code).To(Equal(http.StatusUnauthorized))
		Expect(body).To(HaveKeyWithValue("error", "invalid_client"))
		Eventually(func(g Gomega) {
			cond := condition(getClient(ns, "suspended"), scopegatev1alpha1.ConditionReady)
			g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(cond.Reason).To(Equal(scopegatev1alpha1.ReasonSuspended))
		}).Should(Succeed())

		By("resuming makes the client work again")
		updateClient(ns, "suspended", func(c *scopegatev1alpha1.OAuthClient) { c.Spec.Suspended = false })
		Eventually(func() int { rec, _ := requestToken(id, secret, "mcp"); return rec.Code }).Should(Equal(http.StatusOK))
		Expect(introspect(auditorID, auditorSecret, raw)).To(BeTrue())
	})

	It("makes the registry, the token endpoint and introspection refuse a deleted client at once", func() {
		createClient(ns, "auditor", func(c *scopegatev1alpha1.OAuthClient) { c.Spec.TokenSecret = nil })
		createClient(ns, "doomed", nil)
		waitRevision(ns, "doomed", 1)
		auditorID, auditorSecret := credentials(ns, "auditor")
		id, secret := credentials(ns, "doomed")
		raw := string(getSecret(ns, "doomed-token").Data[KeyAccessToken])
		Eventually(func() bool { return introspect(auditorID, auditorSecret, raw) }).Should(BeTrue())
		Eventually(func() bool {
			_, ok := gauge(mgr.metrics, "scopegate_oauthclient_ready", ns, "doomed")
			return ok
		}).Should(BeTrue())

		Expect(k8s.Delete(ctx, getClient(ns, "doomed"))).To(Succeed())
		Eventually(func() bool { _, ok := mgr.registry.Get(id); return ok }).Should(BeFalse())
		Expect(introspect(auditorID, auditorSecret, raw)).To(BeFalse())
		rec, _ := requestToken(id, secret, "mcp")
		Expect(rec.Code).To(Equal(http.StatusUnauthorized))
		Eventually(func() bool {
			_, ok := gauge(mgr.metrics, "scopegate_oauthclient_ready", ns, "doomed")
			return ok
		}).Should(BeFalse())
		_, ok := gauge(mgr.metrics, "scopegate_token_secret_expiration_timestamp_seconds", ns, "doomed")
		Expect(ok).To(BeFalse())
	})

	It("reports a spec mistake that depends on the manager's defaults as InvalidSpec", func() {
		createClient(ns, "invalid", func(c *scopegatev1alpha1.OAuthClient) {
			// The CRD cannot know that the default lifetime is 1h.
			c.Spec.TokenSecret.RenewBefore = &metav1.Duration{Duration: 2 * time.Hour}
		})
		Eventually(func(g Gomega) {
			cond := condition(getClient(ns, "invalid"), scopegatev1alpha1.ConditionReady)
			g.Expect(cond).NotTo(BeNil())
			g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(cond.Reason).To(Equal(scopegatev1alpha1.ReasonInvalidSpec))
			g.Expect(cond.Message).To(ContainSubstring("renewBefore"))
		}).Should(Succeed())
		Eventually(func() []string { return eventReasons(ns, "invalid") }).Should(ContainElement("Warning/InvalidSpec"))

		By("fixing the spec makes the client ready")
		updateClient(ns, "invalid", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret.RenewBefore = &metav1.Duration{Duration: 10 * time.Minute}
		})
		waitRevision(ns, "invalid", 1)
	})

	It("backs off after a failed issuance, counts it in status and recovers", func() {
		failing.set(ns+".flaky", true)
		DeferCleanup(func() { failing.set(ns+".flaky", false) })
		failedBefore := counter(mgr.metrics, "scopegate_token_secret_issuances_total", "result", "failed", "reason", scopegatev1alpha1.ReasonDoesNotExist)
		createClient(ns, "flaky", nil)
		Eventually(func(g Gomega) {
			c := getClient(ns, "flaky")
			g.Expect(c.Status.FailedIssuanceAttempts).To(Equal(int32(1)))
			g.Expect(c.Status.LastFailureTime).NotTo(BeNil())
			cond := condition(c, scopegatev1alpha1.ConditionTokenReady)
			g.Expect(cond).NotTo(BeNil())
			g.Expect(cond.Reason).To(Equal(scopegatev1alpha1.ReasonIssuanceFailed))
			g.Expect(condition(c, scopegatev1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
		}).Should(Succeed())
		Eventually(func() []string { return eventReasons(ns, "flaky") }).Should(ContainElement("Warning/IssuanceFailed"))
		Expect(counter(mgr.metrics, "scopegate_token_secret_issuances_total", "result", "failed", "reason", scopegatev1alpha1.ReasonDoesNotExist)).To(BeNumerically(">", failedBefore))

		By("the fake clock has not moved, so the back-off holds: one attempt, one event")
		poke(ns, "flaky")
		Expect(getClient(ns, "flaky").Status.FailedIssuanceAttempts).To(Equal(int32(1)))

		By("once the issuer recovers and the back-off has passed, the token is issued")
		failing.set(ns+".flaky", false)
		clk.Step(Backoff(1))
		c := waitRevision(ns, "flaky", 1)
		Expect(c.Status.FailedIssuanceAttempts).To(BeZero())
		Expect(c.Status.LastFailureTime).To(BeNil())
		warnings := 0
		for _, e := range eventsFor(ns, "flaky") {
			if e.Reason == scopegatev1alpha1.ReasonIssuanceFailed {
				warnings++
			}
		}
		Expect(warnings).To(Equal(1))
		Eventually(func() []string {
			var notes []string
			for _, e := range eventsFor(ns, "flaky") {
				notes = append(notes, e.Note)
			}
			return notes
		}).Should(ContainElement(ContainSubstring("after 1 failed attempts")))
	})

	It("keeps valid tokens across a manager restart", func() {
		createClient(ns, "durable", nil)
		before := waitRevision(ns, "durable", 1)
		token := string(getSecret(ns, "durable-token").Data[KeyAccessToken])
		id, secret := credentials(ns, "durable")

		mgr.stop()
		mgr = startManager()

		By("the new manager has looked at the client")
		Eventually(func() float64 {
			v, _ := gauge(mgr.metrics, "scopegate_oauthclient_ready", ns, "durable")
			return v
		}).Should(Equal(1.0))
		Eventually(func() bool { _, ok := mgr.registry.Get(id); return ok }).Should(BeTrue())

		after := getClient(ns, "durable")
		Expect(after.Status.Token.Revision).To(Equal(int64(1)))
		Expect(after.Status.Token.NotAfter).To(Equal(before.Status.Token.NotAfter))
		tok := getSecret(ns, "durable-token")
		Expect(string(tok.Data[KeyAccessToken])).To(Equal(token))
		Expect(tok.Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationRevision, strconv.Itoa(1)))
		rec, _ := requestToken(id, secret, "mcp")
		Expect(rec.Code).To(Equal(http.StatusOK))
		Expect(introspect(id, secret, token)).To(BeTrue())
		Expect(strings.Count(strings.Join(eventReasons(ns, "durable"), " "), "Normal/Issued")).To(Equal(1))
	})
})
