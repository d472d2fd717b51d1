package gatewayroute

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

var _ = Describe("An https backend", func() {
	var ns string
	ctx := context.Background()

	BeforeEach(func() {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "gwr-tls-"}}
		Expect(k8s.Create(ctx, n)).To(Succeed())
		ns = n.Name
	})

	It("is verified with the CA of backend.tls.caSecretRef, and refused until that Secret exists", func() {
		be := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "tls %s", r.URL.Path) }))
		DeferCleanup(be.Close)
		gr := urlRoute(ns, "tls", "/"+ns+"/tls-backend", be.URL)
		gr.Spec.Backend.TLS = &scopegatev1alpha1.BackendTLS{CASecretRef: &scopegatev1alpha1.SecretKeySelector{Name: "backend-ca"}}
		Expect(k8s.Create(ctx, gr)).To(Succeed())
		Eventually(func() int { code, _ := get("/" + ns + "/tls-backend/x"); return code }).Should(Equal(http.StatusServiceUnavailable))

		Expect(k8s.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "backend-ca"},
			Data:       map[string][]byte{"ca.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: be.Certificate().Raw})},
		})).To(Succeed())
		// The Secret is not watched: poke the route instead of waiting a
		// minute for the re-read.
		Eventually(func(g Gomega) {
			var cur scopegatev1alpha1.GatewayRoute
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(gr), &cur)).To(Succeed())
			if cur.Annotations == nil {
				cur.Annotations = map[string]string{}
			}
			cur.Annotations["test/poke"] = "1"
			g.Expect(k8s.Update(ctx, &cur)).To(Succeed())
		}).Should(Succeed())
		Eventually(func() string { _, body := get("/" + ns + "/tls-backend/x"); return body }).Should(Equal("tls /x"))
	})

	It("on a Service port with appProtocol https is verified for the Service's DNS name", func() {
		gr := &scopegatev1alpha1.GatewayRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "svc-tls"},
			Spec: scopegatev1alpha1.GatewayRouteSpec{
				PathPrefix:     "/" + ns + "/svc-tls",
				Backend:        scopegatev1alpha1.Backend{Service: &scopegatev1alpha1.ServiceBackend{Name: "secure", Port: 8443}},
				AllowAnonymous: true,
			},
		}
		Expect(k8s.Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "secure"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "web", Port: 8443, AppProtocol: ptr.To("https")}}},
		})).To(Succeed())
		Expect(k8s.Create(ctx, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: "secure-1", Labels: map[string]string{discoveryv1.LabelServiceName: "secure"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.7"}}},
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("web"), Port: ptr.To(int32(8443))}},
		})).To(Succeed())
		Expect(k8s.Create(ctx, gr)).To(Succeed())
		Eventually(func(g Gomega) {
			rt, ok := gw.Table().Get(ns + "/svc-tls")
			g.Expect(ok).To(BeTrue())
			g.Expect(rt.TLS).NotTo(BeNil())
			g.Expect(rt.TLS.ServerName).To(Equal("secure." + ns + ".svc"))
			g.Expect(rt.Endpoints).To(HaveLen(1))
			g.Expect(rt.Endpoints[0].String()).To(Equal("https://10.0.0.7:8443"), "dialled by IP, verified by name")
		}).Should(Succeed())
	})
})
