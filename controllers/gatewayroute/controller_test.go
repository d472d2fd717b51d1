package gatewayroute

import (
	"time"

	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// namedBackend answers every request with its name and the path it saw.
func namedBackend(name string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	DeferCleanup(s.Close)
	return s
}

// get sends a request through the gateway and returns status and body.
func get(path string) (int, string) {
	res, err := http.Get(gwServer.URL + path)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func condition(g Gomega, key client.ObjectKey, typ string) *metav1.Condition {
	var gr scopegatev1alpha1.GatewayRoute
	g.Expect(k8s.Get(context.Background(), key, &gr)).To(Succeed())
	c := meta.FindStatusCondition(gr.Status.Conditions, typ)
	g.Expect(c).NotTo(BeNil(), "condition %s", typ)
	g.Expect(c.ObservedGeneration).To(Equal(gr.Generation))
	return c
}

func expectCondition(key client.ObjectKey, typ string, status metav1.ConditionStatus, reason string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		c := condition(g, key, typ)
		g.Expect(c.Status).To(Equal(status), "%s: %s", typ, c.Message)
		g.Expect(c.Reason).To(Equal(reason), "%s: %s", typ, c.Message)
	}).Should(Succeed())
}

func urlRoute(ns, name, prefix, backendURL string) *scopegatev1alpha1.GatewayRoute {
	return &scopegatev1alpha1.GatewayRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: scopegatev1alpha1.GatewayRouteSpec{
			PathPrefix:     prefix,
			Backend:        scopegatev1alpha1.Backend{URL: backendURL, Path: "/"},
			AllowAnonymous: true,
		},
	}
}

// aliasOf gives a loopback test server an address the API server accepts
// in an EndpointSlice, which the suite's gateway dials as the server.
func aliasOf(s *httptest.Server, alias string) (string, int32) {
	real := strings.TrimPrefix(s.URL, "http://")
	_, p, err := net.SplitHostPort(real)
	Expect(err).NotTo(HaveOccurred())
	n, err := strconv.Atoi(p)
	Expect(err).NotTo(HaveOccurred())
	aliases.Store(net.JoinHostPort(alias, p), real)
	return alias, int32(n)
}

var _ = Describe("GatewayRoute controllers", func() {
	var ns string
	ctx := context.Background()

	BeforeEach(func() {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "gwr-"}}
		Expect(k8s.Create(ctx, n)).To(Succeed())
		ns = n.Name
	})

	It("accepts a route with a fixed URL, resolves its backend and serves its traffic", func() {
		be := namedBackend("fixed")
		gr := urlRoute(ns, "fixed", "/"+ns+"/fixed", be.URL)
		gr.Spec.Backend.Path = "/base"
		Expect(k8s.Create(ctx, gr)).To(Succeed())
		key := client.ObjectKeyFromObject(gr)

		expectCondition(key, scopegatev1alpha1.ConditionAccepted, metav1.ConditionTrue, scopegatev1alpha1.ReasonAccepted)
		expectCondition(key, scopegatev1alpha1.ConditionBackendResolved, metav1.ConditionTrue, scopegatev1alpha1.ReasonResolved)
		expectCondition(key, scopegatev1alpha1.ConditionScopesSatisfiable, metav1.ConditionTrue, scopegatev1alpha1.ReasonAnonymousAllowed)
		expectCondition(key, scopegatev1alpha1.ConditionReady, metav1.ConditionTrue, scopegatev1alpha1.ReasonReady)
		Expect(k8s.Get(ctx, key, gr)).To(Succeed())
		Expect(gr.Status.URL).To(Equal(gatewayURL + "/" + ns + "/fixed"))
		Expect(gr.Status.ReadyEndpoints).To(Equal(int32(1)))
		Expect(gr.Status.ObservedGeneration).To(Equal(gr.Generation))

		Eventually(func(g Gomega) {
			code, body := get("/" + ns + "/fixed/hello")
			g.Expect(code).To(Equal(200))
			g.Expect(body).To(Equal("fixed /base/hello"))
		}).Should(Succeed())

		By("requiring a token once the route stops allowing anonymous requests")
		gr.Spec.AllowAnonymous = false
		gr.Spec.RequiredScopes = []scopegatev1alpha1.Scope{"mcp"}
		Expect(k8s.Update(ctx, gr)).To(Succeed())
		Eventually(func(g Gomega) {
			code, _ := get("/" + ns + "/fixed/hello")
			g.Expect(code).To(Equal(401))
		}).Should(Succeed())

		By("removing the route from the gateway when it is deleted")
		Expect(k8s.Delete(ctx, gr)).To(Succeed())
		Eventually(func(g Gomega) {
			code, _ := get("/" + ns + "/fixed/hello")
			g.Expect(code).To(Equal(404))
		}).Should(Succeed())
	})

	It("gives a younger route with the same prefix PathConflict until the holder goes", func() {
		first, second := namedBackend("first"), namedBackend("second")
		prefix := "/" + ns + "/shared"
		holder := urlRoute(ns, "holder", prefix, first.URL)
		Expect(k8s.Create(ctx, holder)).To(Succeed())
		expectCondition(client.ObjectKeyFromObject(holder), scopegatev1alpha1.ConditionAccepted, metav1.ConditionTrue, scopegatev1alpha1.ReasonAccepted)

		// Same prefix once cleaned.
		late := urlRoute(ns, "late", prefix+"/", second.URL)
		Expect(k8s.Create(ctx, late)).To(Succeed())
		lateKey := client.ObjectKeyFromObject(late)
		expectCondition(lateKey, scopegatev1alpha1.ConditionAccepted, metav1.ConditionFalse, scopegatev1alpha1.ReasonPathConflict)
		expectCondition(lateKey, scopegatev1alpha1.ConditionReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonPathConflict)
		Eventually(func(g Gomega) {
			c := condition(g, lateKey, scopegatev1alpha1.ConditionAccepted)
			g.Expect(c.Message).To(ContainSubstring(ns + "/holder"))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			_, body := get(prefix + "/x")
			g.Expect(body).To(Equal("first /x"))
		}, "300ms", "50ms").Should(Succeed())
		Eventually(func(g Gomega) {
			var evs eventsv1.EventList
			g.Expect(k8s.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
			var reasons []string
			for _, e := range evs.Items {
				if e.Regarding.Name == "late" {
					reasons = append(reasons, e.Reason)
				}
			}
			g.Expect(reasons).To(ContainElement(scopegatev1alpha1.ReasonPathConflict))
		}).Should(Succeed())

		Expect(k8s.Delete(ctx, holder)).To(Succeed())
		expectCondition(lateKey, scopegatev1alpha1.ConditionAccepted, metav1.ConditionTrue, scopegatev1alpha1.ReasonAccepted)
		Eventually(func(g Gomega) {
			_, body := get(prefix + "/x")
			g.Expect(body).To(Equal("second /x"))
		}).Should(Succeed())
	})

	It("sends a Service route's traffic to the ready endpoints of its EndpointSlices and follows them", func() {
		one, two := namedBackend("one"), namedBackend("two")
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "agent"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
		}
		Expect(k8s.Create(ctx, svc)).To(Succeed())
		gr := &scopegatev1alpha1.GatewayRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "agent"},
			Spec: scopegatev1alpha1.GatewayRouteSpec{
				PathPrefix:     "/" + ns + "/agent",
				Backend:        scopegatev1alpha1.Backend{Service: &scopegatev1alpha1.ServiceBackend{Name: "agent", Port: 80}, Path: "/"},
				AllowAnonymous: true,
			},
		}
		Expect(k8s.Create(ctx, gr)).To(Succeed())
		key := client.ObjectKeyFromObject(gr)
		expectCondition(key, scopegatev1alpha1.ConditionBackendResolved, metav1.ConditionFalse, scopegatev1alpha1.ReasonNoReadyEndpoints)
		Eventually(func(g Gomega) {
			code, _ := get("/" + ns + "/agent/")
			g.Expect(code).To(Equal(503))
		}).Should(Succeed())

		h1, p1 := aliasOf(one, "192.0.2.1")
		h2, p2 := aliasOf(two, "192.0.2.2")
		// envtest runs no EndpointSlice controller: write the slices by
		// hand, with the target port of each server.
		slice := func(name string, host string, port int32, ready bool) *discoveryv1.EndpointSlice {
			return &discoveryv1.EndpointSlice{
				ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: "agent"}},
				AddressType: discoveryv1.AddressTypeIPv4,
				Endpoints: []discoveryv1.Endpoint{{
					Addresses:  []string{host},
					Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)},
				}},
				Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(port)}},
			}
		}
		s1 := slice("agent-one", h1, p1, true)
		Expect(k8s.Create(ctx, s1)).To(Succeed())
		expectCondition(key, scopegatev1alpha1.ConditionBackendResolved, metav1.ConditionTrue, scopegatev1alpha1.ReasonResolved)
		Eventually(func(g Gomega) {
			_, body := get("/" + ns + "/agent/a")
			g.Expect(body).To(Equal("one /a"))
		}).Should(Succeed())

		By("spreading requests round-robin once a second endpoint is ready")
		s2 := slice("agent-two", h2, p2, true)
		Expect(k8s.Create(ctx, s2)).To(Succeed())
		Eventually(func(g Gomega) {
			seen := map[string]bool{}
			for range 4 {
				_, body := get("/" + ns + "/agent/a")
				seen[body] = true
			}
			g.Expect(seen).To(Equal(map[string]bool{"one /a": true, "two /a": true}))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			var got scopegatev1alpha1.GatewayRoute
			g.Expect(k8s.Get(ctx, key, &got)).To(Succeed())
			g.Expect(got.Status.ReadyEndpoints).To(Equal(int32(2)))
		}).Should(Succeed())

		By("dropping an endpoint that stops being ready")
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(s1), s1)).To(Succeed())
		s1.Endpoints[0].Conditions.Ready = ptr.To(false)
		Expect(k8s.Update(ctx, s1)).To(Succeed())
		Eventually(func(g Gomega) {
			for range 4 {
				_, body := get("/" + ns + "/agent/a")
				g.Expect(body).To(Equal("two /a"))
			}
		}).Should(Succeed())

		By("draining to the last endpoint while it terminates but still serves")
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(s2), s2)).To(Succeed())
		s2.Endpoints[0].Conditions = discoveryv1.EndpointConditions{Ready: ptr.To(false), Serving: ptr.To(true), Terminating: ptr.To(true)}
		Expect(k8s.Update(ctx, s2)).To(Succeed())
		Eventually(func(g Gomega) {
			var got scopegatev1alpha1.GatewayRoute
			g.Expect(k8s.Get(ctx, key, &got)).To(Succeed())
			g.Expect(got.Status.ReadyEndpoints).To(Equal(int32(0)))
			c := meta.FindStatusCondition(got.Status.Conditions, scopegatev1alpha1.ConditionBackendResolved)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Message).To(ContainSubstring("terminating"))
		}).Should(Succeed())
		for range 4 {
			code, body := get("/" + ns + "/agent/a")
			Expect(code).To(Equal(200))
			Expect(body).To(Equal("two /a"))
		}

		By("answering 503 when the last endpoint goes")
		Expect(k8s.Delete(ctx, s2)).To(Succeed())
		expectCondition(key, scopegatev1alpha1.ConditionBackendResolved, metav1.ConditionFalse, scopegatev1alpha1.ReasonNoReadyEndpoints)
		Eventually(func(g Gomega) {
			code, _ := get("/" + ns + "/agent/a")
			g.Expect(code).To(Equal(503))
		}).Should(Succeed())
	})

	It("reports a missing Service and a missing port", func() {
		gr := &scopegatev1alpha1.GatewayRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ghost"},
			Spec: scopegatev1alpha1.GatewayRouteSpec{
				PathPrefix: "/" + ns + "/ghost",
				Backend:    scopegatev1alpha1.Backend{Service: &scopegatev1alpha1.ServiceBackend{Name: "ghost", Port: 8080}},
			},
		}
		Expect(k8s.Create(ctx, gr)).To(Succeed())
		key := client.ObjectKeyFromObject(gr)
		expectCondition(key, scopegatev1alpha1.ConditionBackendResolved, metav1.ConditionFalse, scopegatev1alpha1.ReasonServiceNotFound)

		Expect(k8s.Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ghost"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 9090}}},
		})).To(Succeed())
		expectCondition(key, scopegatev1alpha1.ConditionBackendResolved, metav1.ConditionFalse, scopegatev1alpha1.ReasonPortNotFound)
	})

	It("flips ScopesSatisfiable when an OAuthClient that may hold a satisfying scope appears", func() {
		be := namedBackend("scoped")
		custom := scopegatev1alpha1.Scope("mcp:" + ns + ":read")
		gr := urlRoute(ns, "scoped", "/"+ns+"/scoped", be.URL)
		gr.Spec.AllowAnonymous = false
		gr.Spec.RequiredScopes = []scopegatev1alpha1.Scope{custom, "mcp:" + scopegatev1alpha1.Scope(ns) + ":write"}
		gr.Spec.ScopeMatch = scopegatev1alpha1.ScopeMatchAll
		Expect(k8s.Create(ctx, gr)).To(Succeed())
		key := client.ObjectKeyFromObject(gr)
		expectCondition(key, scopegatev1alpha1.ConditionScopesSatisfiable, metav1.ConditionFalse, scopegatev1alpha1.ReasonNoMatchingClient)
		expectCondition(key, scopegatev1alpha1.ConditionReady, metav1.ConditionFalse, scopegatev1alpha1.ReasonNoMatchingClient)
		Eventually(func(g Gomega) {
			c := condition(g, key, scopegatev1alpha1.ConditionScopesSatisfiable)
			g.Expect(c.Message).To(ContainSubstring(string(custom)))
		}).Should(Succeed())

		By("naming only the scope still missing when a client holds one of two required by All")
		reader := &scopegatev1alpha1.OAuthClient{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"},
			Spec:       scopegatev1alpha1.OAuthClientSpec{Scopes: []scopegatev1alpha1.Scope{custom}},
		}
		Expect(k8s.Create(ctx, reader)).To(Succeed())
		Eventually(func(g Gomega) {
			c := condition(g, key, scopegatev1alpha1.ConditionScopesSatisfiable)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Message).NotTo(ContainSubstring(string(custom) + " "))
			g.Expect(c.Message).To(HaveSuffix(":write"))
		}).Should(Succeed())

		By("becoming satisfiable once a client may hold both")
		both := &scopegatev1alpha1.OAuthClient{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "both"},
			Spec:       scopegatev1alpha1.OAuthClientSpec{Scopes: gr.Spec.RequiredScopes},
		}
		Expect(k8s.Create(ctx, both)).To(Succeed())
		expectCondition(key, scopegatev1alpha1.ConditionScopesSatisfiable, metav1.ConditionTrue, scopegatev1alpha1.ReasonSatisfiable)
		expectCondition(key, scopegatev1alpha1.ConditionReady, metav1.ConditionTrue, scopegatev1alpha1.ReasonReady)

		By("flipping back when that client is suspended")
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(both), both)).To(Succeed())
		both.Spec.Suspended = true
		Expect(k8s.Update(ctx, both)).To(Succeed())
		expectCondition(key, scopegatev1alpha1.ConditionScopesSatisfiable, metav1.ConditionFalse, scopegatev1alpha1.ReasonNoMatchingClient)
	})

	It("counts the clients that may call the route and says Reachable, scopes and audiences both", func() {
		be := namedBackend("audited")
		custom := scopegatev1alpha1.Scope("mcp:" + ns + ":audit")
		gr := urlRoute(ns, "audited", "/"+ns+"/audited", be.URL)
		gr.Spec.AllowAnonymous = false
		gr.Spec.Protocol = scopegatev1alpha1.ProtocolMCP
		gr.Spec.RequiredScopes = []scopegatev1alpha1.Scope{custom}
		Expect(k8s.Create(ctx, gr)).To(Succeed())
		key := client.ObjectKeyFromObject(gr)
		authorized := func(g Gomega) int32 {
			got := &scopegatev1alpha1.GatewayRoute{}
			g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
			return got.Status.AuthorizedClients
		}
		expectCondition(key, scopegatev1alpha1.ConditionReachable, metav1.ConditionFalse, scopegatev1alpha1.ReasonNoAuthorizedClient)

		newClient := func(name string, aud ...scopegatev1alpha1.Audience) *scopegatev1alpha1.OAuthClient {
			c := &scopegatev1alpha1.OAuthClient{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Spec: scopegatev1alpha1.OAuthClientSpec{Scopes: []scopegatev1alpha1.Scope{custom}, Audiences: aud}}
			Expect(k8s.Create(ctx, c)).To(Succeed())
			return c
		}
		By("a client whose audience allow-list the route does not accept counts for nothing")
		newClient("wrong-audience", "api")
		Consistently(authorized).WithTimeout(2 * time.Second).Should(BeZero())
		By("two clients that may, one with the protocol's default audience")
		newClient("any-audience")
		mcpOnly := newClient("mcp-audience", "mcp")
		Eventually(authorized).Should(Equal(int32(2)))
		expectCondition(key, scopegatev1alpha1.ConditionReachable, metav1.ConditionTrue, scopegatev1alpha1.ReasonAuthorizedClients)
		By("a client whose audience allow-list changes to one the route accepts counts then")
		wrong := &scopegatev1alpha1.OAuthClient{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "wrong-audience"}, wrong)).To(Succeed())
		wrong.Spec.Audiences = []scopegatev1alpha1.Audience{"mcp"}
		Expect(k8s.Update(ctx, wrong)).To(Succeed())
		Eventually(authorized).Should(Equal(int32(3)))
		Expect(k8s.Delete(ctx, wrong)).To(Succeed())
		Eventually(authorized).Should(Equal(int32(2)))
		By("a suspended client no longer counts, a deleted one neither")
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(mcpOnly), mcpOnly)).To(Succeed())
		mcpOnly.Spec.Suspended = true
		Expect(k8s.Update(ctx, mcpOnly)).To(Succeed())
		Eventually(authorized).Should(Equal(int32(1)))
		Expect(k8s.Delete(ctx, &scopegatev1alpha1.OAuthClient{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "any-audience"}})).To(Succeed())
		Eventually(authorized).Should(BeZero())
		expectCondition(key, scopegatev1alpha1.ConditionReachable, metav1.ConditionFalse, scopegatev1alpha1.ReasonNoAuthorizedClient)
	})
})
