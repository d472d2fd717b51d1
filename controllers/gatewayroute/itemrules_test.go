package gatewayroute

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

var _ = Describe("GatewayRoute item rules in status", func() {
	ctx := context.Background()

	It("counts the item rules and flags by index the rule no client can satisfy until one can", func() {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "gwr-"}}
		Expect(k8s.Create(ctx, n)).To(Succeed())
		ns := n.Name
		read := scopegatev1alpha1.Scope("mcp:" + ns + ":read")
		write := scopegatev1alpha1.Scope("mcp:" + ns + ":write")

		be := namedBackend("notes")
		gr := urlRoute(ns, "notes", "/"+ns+"/notes", be.URL)
		gr.Spec.AllowAnonymous = false
		gr.Spec.Protocol = scopegatev1alpha1.ProtocolMCP
		gr.Spec.RequiredScopes = []scopegatev1alpha1.Scope{"mcp"}
		gr.Spec.MCP = &scopegatev1alpha1.MCPPolicy{Rules: []scopegatev1alpha1.MCPRule{
			{Tools: []string{"delete_note"}, ItemRequirement: scopegatev1alpha1.ItemRequirement{RequiredScopes: []scopegatev1alpha1.Scope{write}}},
			{Tools: []string{"*"}, ItemRequirement: scopegatev1alpha1.ItemRequirement{RequiredScopes: []scopegatev1alpha1.Scope{read}}},
		}}
		Expect(k8s.Create(ctx, gr)).To(Succeed())
		key := client.ObjectKeyFromObject(gr)
		status := func(g Gomega) scopegatev1alpha1.GatewayRouteStatus {
			got := &scopegatev1alpha1.GatewayRoute{}
			g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
			return got.Status
		}

		By("flagging both rules while no client reaches the route")
		expectCondition(key, scopegatev1alpha1.ConditionItemRulesSatisfiable, metav1.ConditionFalse, scopegatev1alpha1.ReasonUnsatisfiableItemRule)
		Eventually(func(g Gomega) {
			st := status(g)
			g.Expect(st.ItemRules).To(Equal(int32(2)))
			g.Expect(st.UnsatisfiableItemRules).To(Equal([]int32{0, 1}))
		}).Should(Succeed())

		By("flagging only the write rule once a reader exists")
		Expect(k8s.Create(ctx, &scopegatev1alpha1.OAuthClient{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"},
			Spec: scopegatev1alpha1.OAuthClientSpec{Scopes: []scopegatev1alpha1.Scope{"mcp", read}}})).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(status(g).UnsatisfiableItemRules).To(Equal([]int32{0}))
			c := condition(g, key, scopegatev1alpha1.ConditionItemRulesSatisfiable)
			g.Expect(c.Message).To(ContainSubstring("item rule 0:"))
		}).Should(Succeed())
		expectCondition(key, scopegatev1alpha1.ConditionReady, metav1.ConditionTrue, scopegatev1alpha1.ReasonReady)

		By("clearing the flag once a writer exists")
		Expect(k8s.Create(ctx, &scopegatev1alpha1.OAuthClient{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "writer"},
			Spec: scopegatev1alpha1.OAuthClientSpec{Scopes: []scopegatev1alpha1.Scope{"mcp", read, write}}})).To(Succeed())
		expectCondition(key, scopegatev1alpha1.ConditionItemRulesSatisfiable, metav1.ConditionTrue, scopegatev1alpha1.ReasonItemRulesSatisfiable)
		Eventually(func(g Gomega) { g.Expect(status(g).UnsatisfiableItemRules).To(BeEmpty()) }).Should(Succeed())

		By("dropping the count and the condition when the rules go")
		Eventually(func(g Gomega) {
			cur := &scopegatev1alpha1.GatewayRoute{}
			g.Expect(k8s.Get(ctx, key, cur)).To(Succeed())
			cur.Spec.MCP = nil
			g.Expect(k8s.Update(ctx, cur)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			st := status(g)
			g.Expect(st.ItemRules).To(BeZero())
			g.Expect(meta.FindStatusCondition(st.Conditions, scopegatev1alpha1.ConditionItemRulesSatisfiable)).To(BeNil())
		}).Should(Succeed())
	})
})
