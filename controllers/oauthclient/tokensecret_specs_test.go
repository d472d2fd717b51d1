package oauthclient

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

var _ = Describe("The token Secret's metadata", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("removes the labels and annotations that left the Secret template, and no others, without a new token", func() {
		createClient(ns, "retemplated", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret.SecretTemplate = &scopegatev1alpha1.SecretTemplate{
				Labels:      map[string]string{"team": "a", "tier": "gold"},
				Annotations: map[string]string{"example.com/keep": "1", "example.com/drop": "2"},
			}
		})
		waitRevision(ns, "retemplated", 1)

		By("someone adds their own keys by hand")
		s := getSecret(ns, "retemplated-token")
		s.Labels["added-by-hand"] = "yes"
		s.Annotations["example.com/added-by-hand"] = "yes"
		Expect(k8s.Update(ctx, s)).To(Succeed())

		By("the template loses a label and an annotation")
		updateClient(ns, "retemplated", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret.SecretTemplate = &scopegatev1alpha1.SecretTemplate{
				Labels:      map[string]string{"team": "a"},
				Annotations: map[string]string{"example.com/keep": "1"},
			}
		})
		Eventually(func(g Gomega) {
			s := getSecret(ns, "retemplated-token")
			g.Expect(s.Labels).NotTo(HaveKey("tier"))
			g.Expect(s.Annotations).NotTo(HaveKey("example.com/drop"))
		}).Should(Succeed())
		s = getSecret(ns, "retemplated-token")
		Expect(s.Labels).To(HaveKeyWithValue("team", "a"))
		Expect(s.Labels).To(HaveKeyWithValue("added-by-hand", "yes"))
		Expect(s.Labels).To(HaveKeyWithValue(LabelManagedBy, ManagedBy))
		Expect(s.Annotations).To(HaveKeyWithValue("example.com/keep", "1"))
		Expect(s.Annotations).To(HaveKeyWithValue("example.com/added-by-hand", "yes"))
		Expect(s.Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationRevision, "1"))

		By("removing the template removes the rest of its keys")
		updateClient(ns, "retemplated", func(c *scopegatev1alpha1.OAuthClient) { c.Spec.TokenSecret.SecretTemplate = nil })
		Eventually(func(g Gomega) {
			s := getSecret(ns, "retemplated-token")
			g.Expect(s.Labels).NotTo(HaveKey("team"))
			g.Expect(s.Annotations).NotTo(HaveKey("example.com/keep"))
		}).Should(Succeed())
		s = getSecret(ns, "retemplated-token")
		Expect(s.Labels).To(HaveKeyWithValue("added-by-hand", "yes"))
		Expect(s.Annotations).To(HaveKeyWithValue("example.com/added-by-hand", "yes"))
		Expect(s.Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationRevision, "1"))
		Expect(getClient(ns, "retemplated").Status.Token.Revision).To(Equal(int64(1)))
	})

	It("keeps keys someone added to the token and credentials Secrets across a re-issue and a repair", func() {
		createClient(ns, "extra-keys", nil)
		waitRevision(ns, "extra-keys", 1)

		By("someone adds a key to each Secret and edits one of ours")
		tok := getSecret(ns, "extra-keys-token")
		tok.Data["added-by-hand"] = []byte("token")
		tok.Data[KeyAccessToken] = []byte("eyJhbGciOiJub25lIn0.e30.")
		Expect(k8s.Update(ctx, tok)).To(Succeed())
		creds := getSecret(ns, "extra-keys-credentials")
		creds.Data["added-by-hand"] = []byte("credentials")
		creds.Data[KeyTokenURL] = []byte("https://elsewhere.example.com/token")
		Expect(k8s.Update(ctx, creds)).To(Succeed())

		waitRevision(ns, "extra-keys", 2)
		Eventually(func(g Gomega) {
			g.Expect(string(getSecret(ns, "extra-keys-credentials").Data[KeyTokenURL])).To(Equal(suiteIssuer + "/oauth/token"))
		}).Should(Succeed())
		Expect(getSecret(ns, "extra-keys-token").Data).To(HaveKeyWithValue("added-by-hand", []byte("token")))
		Expect(getSecret(ns, "extra-keys-credentials").Data).To(HaveKeyWithValue("added-by-hand", []byte("credentials")))
	})

	It("cannot be given the controller's own keys through the template", func() {
		c := &scopegatev1alpha1.OAuthClient{
			ObjectMeta: metav1.ObjectMeta{Name: "overreaching", Namespace: ns},
			Spec: scopegatev1alpha1.OAuthClientSpec{
				Scopes: []scopegatev1alpha1.Scope{"mcp"},
				TokenSecret: &scopegatev1alpha1.TokenSecretSpec{SecretTemplate: &scopegatev1alpha1.SecretTemplate{
					Annotations: map[string]string{scopegatev1alpha1.AnnotationRevision: "7"},
					Labels:      map[string]string{LabelManagedBy: "someone-else"},
				}},
			},
		}
		err := k8s.Create(ctx, c)
		Expect(err).To(HaveOccurred(), "the CRD refuses template keys the controller owns; setMetadata ignores them for older objects")
		Expect(err.Error()).To(ContainSubstring("spec.tokenSecret.secretTemplate.annotations"))
		Expect(err.Error()).To(ContainSubstring("spec.tokenSecret.secretTemplate.labels"))
	})

	It("leaves a foreign Secret of the token Secret's name untouched and reports SecretConflict", func() {
		foreign := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "squatted-token", Namespace: ns, Labels: map[string]string{"app": "theirs"}},
			StringData: map[string]string{"access_token": "theirs"},
		}
		Expect(k8s.Create(ctx, foreign)).To(Succeed())
		createClient(ns, "squatted", nil)

		Eventually(func(g Gomega) {
			c := getClient(ns, "squatted")
			for _, t := range []string{scopegatev1alpha1.ConditionReady, scopegatev1alpha1.ConditionTokenReady} {
				cond := condition(c, t)
				g.Expect(cond).NotTo(BeNil(), t)
				g.Expect(cond.Status).To(Equal(metav1.ConditionFalse), t)
				g.Expect(cond.Reason).To(Equal(scopegatev1alpha1.ReasonSecretConflict), t)
				g.Expect(cond.Message).To(ContainSubstring("squatted-token"), t)
				g.Expect(cond.ObservedGeneration).To(Equal(c.Generation), t)
			}
			g.Expect(condition(c, scopegatev1alpha1.ConditionCredentialsReady).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
		Eventually(func() []string { return eventReasons(ns, "squatted") }).Should(ContainElement("Warning/SecretConflict"))
		Expect(eventReasons(ns, "squatted")).NotTo(ContainElement("Normal/Issued"))
		Expect(getClient(ns, "squatted").Status.Token).To(BeNil())

		By("the foreign Secret is exactly as it was")
		s := getSecret(ns, "squatted-token")
		Expect(s.ResourceVersion).To(Equal(foreign.ResourceVersion))
		Expect(s.Data).To(Equal(map[string][]byte{"access_token": []byte("theirs")}))
		Expect(s.OwnerReferences).To(BeEmpty())
		Expect(s.Labels).To(Equal(map[string]string{"app": "theirs"}))
		Expect(s.Annotations).To(BeEmpty())
		Expect(string(s.Type)).To(Equal(string(corev1.SecretTypeOpaque)))

		By("the credentials still work: only the token Secret is blocked")
		id, secret := credentials(ns, "squatted")
		Eventually(func() int { rec, _ := requestToken(id, secret, "mcp"); return rec.Code }).Should(Equal(200))

		By("once the foreign Secret is gone, the token is issued")
		Expect(k8s.Delete(ctx, s)).To(Succeed())
		poke(ns, "squatted")
		waitRevision(ns, "squatted", 1)
		tok := getSecret(ns, "squatted-token")
		Expect(metav1.IsControlledBy(tok, getClient(ns, "squatted"))).To(BeTrue())
		verifyWithJWKS(string(tok.Data[KeyAccessToken]))
	})

	It("re-issues the token when its client or revision annotation is edited", func() {
		createClient(ns, "annotated", nil)
		waitRevision(ns, "annotated", 1)

		By("an edited client annotation")
		s := getSecret(ns, "annotated-token")
		s.Annotations[scopegatev1alpha1.AnnotationClient] = "other-namespace.other-client"
		Expect(k8s.Update(ctx, s)).To(Succeed())
		waitRevision(ns, "annotated", 2)
		Expect(getSecret(ns, "annotated-token").Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationClient, ns+".annotated"))

		By("a revision annotation set back")
		s = getSecret(ns, "annotated-token")
		s.Annotations[scopegatev1alpha1.AnnotationRevision] = "1"
		Expect(k8s.Update(ctx, s)).To(Succeed())
		waitRevision(ns, "annotated", 3)
		Expect(getSecret(ns, "annotated-token").Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationRevision, "3"))
		Eventually(func() []string {
			var notes []string
			for _, e := range eventsFor(ns, "annotated") {
				notes = append(notes, e.Note)
			}
			return notes
		}).Should(ContainElement(And(ContainSubstring("revision 3"), ContainSubstring(scopegatev1alpha1.ReasonSecretMismatch))))
	})
})
