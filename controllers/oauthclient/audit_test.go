package oauthclient

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

func auditRoute(ns, name, prefix string, required ...scopegatev1alpha1.Scope) *scopegatev1alpha1.GatewayRoute {
	return &scopegatev1alpha1.GatewayRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: scopegatev1alpha1.GatewayRouteSpec{PathPrefix: prefix, Protocol: scopegatev1alpha1.ProtocolMCP,
			Backend: scopegatev1alpha1.Backend{URL: "http://127.0.0.1:9"}, RequiredScopes: required},
	}
}

var _ = Describe("Scope audit in OAuthClient status", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("follows the routes and the client: reachable routes, their count and unused scopes", func() {
		read := scopegatev1alpha1.Scope("mcp:" + ns + ":read")
		write := scopegatev1alpha1.Scope("mcp:" + ns + ":write")
		createClient(ns, "auditee", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.Scopes = []scopegatev1alpha1.Scope{read, write}
			c.Spec.TokenSecret = nil
		})
		audited := func(g Gomega) *scopegatev1alpha1.OAuthClientStatus {
			return &getClient(ns, "auditee").Status
		}
		Eventually(func(g Gomega) {
			st := audited(g)
			g.Expect(st.ReachableRouteCount).To(BeZero())
			g.Expect(st.UnusedScopes).To(ConsistOf(string(read), string(write)))
		}).Should(Succeed())

		By("a route requiring one of its scopes")
		Expect(k8s.Create(ctx, auditRoute(ns, "reader", "/"+ns+"/read", read))).To(Succeed())
		Eventually(func(g Gomega) {
			st := audited(g)
			g.Expect(st.ReachableRouteCount).To(Equal(int32(1)))
			g.Expect(st.ReachableRoutes).To(Equal([]scopegatev1alpha1.RouteReference{{Namespace: ns, Name: "reader", PathPrefix: "/" + ns + "/read"}}))
			g.Expect(st.UnusedScopes).To(Equal([]string{string(write)}))
		}).Should(Succeed())

		By("an audience allow-list the route does not accept")
		updateClient(ns, "auditee", func(c *scopegatev1alpha1.OAuthClient) { c.Spec.Audiences = []scopegatev1alpha1.Audience{"api"} })
		Eventually(func(g Gomega) { g.Expect(audited(g).ReachableRouteCount).To(BeZero()) }).Should(Succeed())
		updateClient(ns, "auditee", func(c *scopegatev1alpha1.OAuthClient) { c.Spec.Audiences = []scopegatev1alpha1.Audience{"mcp"} })
		Eventually(func(g Gomega) { g.Expect(audited(g).ReachableRouteCount).To(Equal(int32(1))) }).Should(Succeed())

		By("suspension")
		updateClient(ns, "auditee", func(c *scopegatev1alpha1.OAuthClient) { c.Spec.Suspended = true })
		Eventually(func(g Gomega) { g.Expect(audited(g).ReachableRoutes).To(BeEmpty()) }).Should(Succeed())
		updateClient(ns, "auditee", func(c *scopegatev1alpha1.OAuthClient) { c.Spec.Suspended = false })
		Eventually(func(g Gomega) { g.Expect(audited(g).ReachableRouteCount).To(Equal(int32(1))) }).Should(Succeed())

		By("the route's scopes changing, then the route going")
		r := &scopegatev1alpha1.GatewayRoute{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "reader"}, r)).To(Succeed())
		r.Spec.RequiredScopes = []scopegatev1alpha1.Scope{write}
		Expect(k8s.Update(ctx, r)).To(Succeed())
		Eventually(func(g Gomega) { g.Expect(audited(g).UnusedScopes).To(Equal([]string{string(read)})) }).Should(Succeed())
		Expect(k8s.Delete(ctx, r)).To(Succeed())
		Eventually(func(g Gomega) {
			st := audited(g)
			g.Expect(st.ReachableRouteCount).To(BeZero())
			g.Expect(st.UnusedScopes).To(HaveLen(2))
		}).Should(Succeed())
	})

	It("coalesces route changes: a burst of new routes costs each client about one status write", func() {
		scope := scopegatev1alpha1.Scope("mcp:" + ns + ":many")
		const clients = 20
		for i := range clients {
			createClient(ns, fmt.Sprintf("c%02d", i), func(c *scopegatev1alpha1.OAuthClient) {
				c.Spec.Scopes = []scopegatev1alpha1.Scope{scope}
				c.Spec.TokenSecret = nil
			})
		}
		for i := range clients {
			Eventually(func(g Gomega) {
				c := getClient(ns, fmt.Sprintf("c%02d", i))
				g.Expect(condition(c, scopegatev1alpha1.ConditionReady)).NotTo(BeNil())
				g.Expect(condition(c, scopegatev1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
			}).Should(Succeed())
		}
		time.Sleep(DefaultAuditDelay + time.Second) // let the first passes settle

		wc, err := client.NewWithWatch(adminCfg, client.Options{Scheme: k8s.Scheme()})
		Expect(err).NotTo(HaveOccurred())
		w, err := wc.Watch(ctx, &scopegatev1alpha1.OAuthClientList{}, client.InNamespace(ns))
		Expect(err).NotTo(HaveOccurred())
		defer w.Stop()
		writes := map[string]int{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for e := range w.ResultChan() {
				if e.Type == watch.Modified {
					writes[e.Object.(*scopegatev1alpha1.OAuthClient).Name]++
				}
			}
		}()

		const routes = 4
		for i := range routes {
			Expect(k8s.Create(ctx, auditRoute(ns, fmt.Sprintf("r%d", i), fmt.Sprintf("/%s/r%d", ns, i), scope))).To(Succeed())
		}
		for i := range clients {
			Eventually(func(g Gomega) {
				g.Expect(getClient(ns, fmt.Sprintf("c%02d", i)).Status.ReachableRouteCount).To(Equal(int32(routes)))
			}).Should(Succeed())
		}
		time.Sleep(DefaultAuditDelay + time.Second) // any late write shows up
		w.Stop()
		<-done
		total := 0
		for name, n := range writes {
			Expect(n).To(BeNumerically("<=", 2), "client %s written %d times for %d route creations", name, n, routes)
			total += n
		}
		Expect(total).To(BeNumerically("<", clients*routes), "writes %v", writes)
	})
})

var _ = Describe("MCP tool access in OAuthClient status", func() {
	It("lists per reachable MCP route the tools its rules let the client call, and follows rule changes", func() {
		ns := newNamespace()
		read := scopegatev1alpha1.Scope("mcp:" + ns + ":read")
		write := scopegatev1alpha1.Scope("mcp:" + ns + ":write")
		createClient(ns, "reader", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.Scopes = []scopegatev1alpha1.Scope{"mcp", read}
			c.Spec.TokenSecret = nil
		})
		gr := auditRoute(ns, "notes", "/"+ns+"/notes", "mcp")
		gr.Spec.MCP = &scopegatev1alpha1.MCPPolicy{Rules: []scopegatev1alpha1.MCPRule{
			{Tools: []string{"delete_note"}, ItemRequirement: scopegatev1alpha1.ItemRequirement{RequiredScopes: []scopegatev1alpha1.Scope{write}}},
			{Tools: []string{"list_notes", "get_note"}, ItemRequirement: scopegatev1alpha1.ItemRequirement{RequiredScopes: []scopegatev1alpha1.Scope{read}}},
		}}
		Expect(k8s.Create(ctx, gr)).To(Succeed())
		Expect(k8s.Create(ctx, auditRoute(ns, "unreachable", "/"+ns+"/admin", "mcp:"+scopegatev1alpha1.Scope(ns)+":admin"))).To(Succeed())

		Eventually(func(g Gomega) {
			g.Expect(getClient(ns, "reader").Status.MCPTools).To(Equal([]scopegatev1alpha1.MCPToolAccess{{
				Namespace: ns, Name: "notes", AllowedTools: []string{"list_notes", "get_note"}, AllowedToolCount: 2,
				DeniedTools: []string{"delete_note"}, DeniedToolCount: 1, UnlistedTools: scopegatev1alpha1.ToolAllowed,
			}}))
			// The read scope is required by a rule, not by a route: used.
			g.Expect(getClient(ns, "reader").Status.UnusedScopes).To(BeEmpty())
		}).Should(Succeed())

		By("a rule change alone (scopes and prefix unchanged) reaching the client")
		Eventually(func(g Gomega) {
			cur := &scopegatev1alpha1.GatewayRoute{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(gr), cur)).To(Succeed())
			cur.Spec.MCP.Unlisted = scopegatev1alpha1.UnlistedDeny
			cur.Spec.MCP.Rules[0].RequiredScopes = []scopegatev1alpha1.Scope{read}
			g.Expect(k8s.Update(ctx, cur)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			st := getClient(ns, "reader").Status
			g.Expect(st.MCPTools).To(HaveLen(1))
			g.Expect(st.MCPTools[0].AllowedTools).To(Equal([]string{"delete_note", "list_notes", "get_note"}))
			g.Expect(st.MCPTools[0].DeniedToolCount).To(BeZero())
			g.Expect(st.MCPTools[0].UnlistedTools).To(Equal(scopegatev1alpha1.ToolDenied))
		}).Should(Succeed())
	})
})
