package oauthclient

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

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

	It("keeps the controller's own annotations when the template names them", func() {
		createClient(ns, "overreaching", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret.SecretTemplate = &scopegatev1alpha1.SecretTemplate{
				Annotations: map[string]string{
					scopegatev1alpha1.AnnotationNotAfter: "2099-01-01T00:00:00Z",
					scopegatev1alpha1.AnnotationRevision: "7",
				},
				Labels: map[string]string{LabelManagedBy: "someone-else"},
			}
		})
		c := waitRevision(ns, "overreaching", 1)
		By("a later pass keeps the token: the template did not make the Secret look edited")
		poke(ns, "overreaching")
		c2 := waitRevision(ns, "overreaching", 1)
		Expect(c2.Status.Token.NotBefore).To(Equal(c.Status.Token.NotBefore))
		s := getSecret(ns, "overreaching-token")
		Expect(s.Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationNotAfter, string(s.Data[KeyExpiresAt])))
		Expect(s.Labels).To(HaveKeyWithValue(LabelManagedBy, ManagedBy))
	})
})
