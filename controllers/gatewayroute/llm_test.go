package gatewayroute

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

var _ = Describe("LLM routes", func() {
	ctx := context.Background()

	It("are not Ready while a provider's key Secret is missing, and feed the key to the gateway once it is there and when it rotates", func() {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "gwr-llm-"}}
		Expect(k8s.Create(ctx, n)).To(Succeed())
		ns := n.Name
		gr := urlRoute(ns, "llm", "/"+ns+"/llm", "http://127.0.0.1:9")
		gr.Spec.AllowAnonymous = false
		gr.Spec.Protocol = scopegatev1alpha1.ProtocolLLM
		gr.Spec.LLM = &scopegatev1alpha1.LLMPolicy{
			Providers: []scopegatev1alpha1.LLMProvider{{Name: "openai", Format: scopegatev1alpha1.LLMFormatOpenAI,
				APIKeySecretRef: scopegatev1alpha1.LLMKeySelector{Name: "openai-key"}}},
			Models: []scopegatev1alpha1.LLMModelRoute{{Match: "gpt-*", Provider: "openai"}},
		}
		Expect(k8s.Create(ctx, gr)).To(Succeed())
		key := client.ObjectKeyFromObject(gr)

		expectCondition(key, scopegatev1alpha1.ConditionBackendResolved, metav1.ConditionFalse, scopegatev1alpha1.ReasonProviderKeyUnavailable)
		expectCondition(key, scopegatev1alpha1.ConditionReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonProviderKeyUnavailable)
		Expect(condition(Default, key, scopegatev1alpha1.ConditionReady).Message).To(ContainSubstring("openai-key"))
		Eventually(func(g Gomega) {
			rt, ok := gw.Table().Get(ns + "/llm")
			g.Expect(ok).To(BeTrue())
			g.Expect(rt.LLM).NotTo(BeNil())
			g.Expect(rt.LLM.Providers[0].Key).To(BeEmpty())
			g.Expect(rt.LLM.Providers[0].KeyError).To(ContainSubstring("openai-key"))
		}).Should(Succeed())

		By("reading the key once the Secret exists, without a change to the route (the Secret is watched)")
		generation := gr.Generation
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "openai-key"}, Data: map[string][]byte{"apiKey": []byte("sk-first")}}
		Expect(k8s.Create(ctx, secret)).To(Succeed())
		// Well inside the minute the previous design re-read keys in.
		expectCondition(key, scopegatev1alpha1.ConditionReady, metav1.ConditionTrue, scopegatev1alpha1.ReasonReady)
		Eventually(func(g Gomega) {
			rt, _ := gw.Table().Get(ns + "/llm")
			g.Expect(rt.LLM.Providers[0].Key).To(Equal("sk-first"))
		}).WithTimeout(20 * time.Second).Should(Succeed())

		By("taking a rotated key without a restart or a change to the route")
		secret.Data["apiKey"] = []byte("sk-second")
		Expect(k8s.Update(ctx, secret)).To(Succeed())
		Eventually(func(g Gomega) {
			rt, _ := gw.Table().Get(ns + "/llm")
			g.Expect(rt.LLM.Providers[0].Key).To(Equal("sk-second"))
		}).WithTimeout(20 * time.Second).Should(Succeed())

		By("not Ready again, and no key in the table, once the Secret is deleted")
		Expect(k8s.Delete(ctx, secret)).To(Succeed())
		expectCondition(key, scopegatev1alpha1.ConditionReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonProviderKeyUnavailable)
		Eventually(func(g Gomega) {
			rt, _ := gw.Table().Get(ns + "/llm")
			g.Expect(rt.LLM.Providers[0].Key).To(BeEmpty())
		}).WithTimeout(20 * time.Second).Should(Succeed())
		Expect(k8s.Get(ctx, key, gr)).To(Succeed())
		Expect(gr.Generation).To(Equal(generation), "the route was not changed")
	})
})
