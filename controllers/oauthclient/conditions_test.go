package oauthclient

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

var _ = Describe("A token spec mistake found after admission", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("still reconciles the credentials, keeps the token Secret, and stamps every condition with the new generation", func() {
		createClient(ns, "misconfigured", nil)
		waitRevision(ns, "misconfigured", 1)
		token := string(getSecret(ns, "misconfigured-token").Data[KeyAccessToken])
		_, oldSecret := credentials(ns, "misconfigured")

		By("renewBefore becomes longer than the default lifetime, and a rotation is asked for")
		updateClient(ns, "misconfigured", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret.RenewBefore = &metav1.Duration{Duration: 2 * time.Hour}
			c.Annotations = map[string]string{scopegatev1alpha1.AnnotationRotateCredentials: "while-invalid"}
		})
		Eventually(func(g Gomega) {
			c := getClient(ns, "misconfigured")
			g.Expect(c.Status.ObservedGeneration).To(Equal(c.Generation))
			want := map[string]string{
				scopegatev1alpha1.ConditionReady:            scopegatev1alpha1.ReasonInvalidSpec,
				scopegatev1alpha1.ConditionTokenReady:       scopegatev1alpha1.ReasonInvalidSpec,
				scopegatev1alpha1.ConditionCredentialsReady: scopegatev1alpha1.ReasonReady,
			}
			for t, reason := range want {
				cond := condition(c, t)
				g.Expect(cond).NotTo(BeNil(), t)
				g.Expect(cond.Reason).To(Equal(reason), t)
				g.Expect(cond.ObservedGeneration).To(Equal(c.Generation), t)
			}
			g.Expect(condition(c, scopegatev1alpha1.ConditionTokenReady).Message).To(ContainSubstring("renewBefore"))
			g.Expect(c.Status.Credentials).NotTo(BeNil())
			g.Expect(c.Status.Credentials.Rotation).To(Equal("while-invalid"))
		}).Should(Succeed())
		_, newSecret := credentials(ns, "misconfigured")
		Expect(newSecret).NotTo(Equal(oldSecret))
		tok := getSecret(ns, "misconfigured-token")
		Expect(string(tok.Data[KeyAccessToken])).To(Equal(token))
		Expect(tok.Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationRevision, "1"))

		By("fixing the spec makes the client ready with the same token")
		updateClient(ns, "misconfigured", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret.RenewBefore = &metav1.Duration{Duration: 10 * time.Minute}
		})
		c := waitRevision(ns, "misconfigured", 1)
		Expect(condition(c, scopegatev1alpha1.ConditionTokenReady).ObservedGeneration).To(Equal(c.Generation))
	})

})

var _ = Describe("A failed issuance", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("is restated for a new generation while the back-off holds, without a new event", func() {
		failing.set(ns+".backing-off", true)
		DeferCleanup(func() { failing.set(ns+".backing-off", false) })
		createClient(ns, "backing-off", nil)
		Eventually(func(g Gomega) {
			c := getClient(ns, "backing-off")
			g.Expect(c.Status.FailedIssuanceAttempts).To(Equal(int32(1)))
		}).Should(Succeed())

		By("a spec change inside the back-off, with the fake clock still")
		updateClient(ns, "backing-off", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret.Scopes = []scopegatev1alpha1.Scope{"mcp"}
		})
		Eventually(func(g Gomega) {
			c := getClient(ns, "backing-off")
			g.Expect(c.Status.ObservedGeneration).To(Equal(c.Generation))
			for _, cond := range c.Status.Conditions {
				g.Expect(cond.ObservedGeneration).To(Equal(c.Generation), cond.Type)
			}
			g.Expect(condition(c, scopegatev1alpha1.ConditionTokenReady).Reason).To(Equal(scopegatev1alpha1.ReasonIssuanceFailed))
			g.Expect(c.Status.FailedIssuanceAttempts).To(Equal(int32(1)))
		}).Should(Succeed())
		warnings := 0
		for _, e := range eventsFor(ns, "backing-off") {
			if e.Reason == scopegatev1alpha1.ReasonIssuanceFailed {
				warnings++
			}
		}
		Expect(warnings).To(Equal(1))
	})
})

var _ = Describe("A token Secret named like the credentials Secret", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	// The CRD refuses the clash at admission; the controller's own check
	// (effectiveTokenSpec) remains for objects stored before that rule.
	It("is refused by the API server, for a new client and for an edit", func() {
		c := &scopegatev1alpha1.OAuthClient{
			ObjectMeta: metav1.ObjectMeta{Name: "clash", Namespace: ns},
			Spec: scopegatev1alpha1.OAuthClientSpec{
				Scopes:      []scopegatev1alpha1.Scope{"mcp"},
				TokenSecret: &scopegatev1alpha1.TokenSecretSpec{Name: "clash-credentials"},
			},
		}
		err := k8s.Create(ctx, c)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("spec.tokenSecret.name"))

		createClient(ns, "renamed", nil)
		waitRevision(ns, "renamed", 1)
		before := getSecret(ns, "renamed-token")
		edited := getClient(ns, "renamed")
		edited.Spec.CredentialsSecretName = "renamed-token"
		err = k8s.Update(ctx, edited)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("spec.tokenSecret.name"))
		Consistently(func(g Gomega) {
			g.Expect(getSecret(ns, "renamed-token").ResourceVersion).To(Equal(before.ResourceVersion))
		}, "1s").Should(Succeed())
		Expect(getSecret(ns, "renamed-credentials").Data).To(HaveKey(KeyClientSecret))
	})
})
