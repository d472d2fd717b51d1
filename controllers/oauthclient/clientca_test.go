package oauthclient

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// teamCA is a CA of another PKI (as cert-manager's would be), valid around
// the suite's clock.
type teamCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTeamCA(name string) teamCA {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	now := clk.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	Expect(err).NotTo(HaveOccurred())
	cert, err := x509.ParseCertificate(der)
	Expect(err).NotTo(HaveOccurred())
	return teamCA{cert: cert, key: key}
}

func (ca teamCA) pem() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
}

// issue signs a client certificate for subject and the URI SAN uri.
func (ca teamCA) issue(subject pkix.Name, uris ...string) []*x509.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject,
		NotBefore: clk.Now().Add(-time.Minute), NotAfter: clk.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	for _, u := range uris {
		tmpl.URIs = append(tmpl.URIs, mustURL(u))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	Expect(err).NotTo(HaveOccurred())
	cert, err := x509.ParseCertificate(der)
	Expect(err).NotTo(HaveOccurred())
	return []*x509.Certificate{cert}
}

// certificateAuthenticates reports whether chain authenticates the client
// in the harness's registry now (nil when it does).
func certificateAuthenticates(id string, chain []*x509.Certificate) func() error {
	return func() error {
		c, ok := mgr.registry.Get(id)
		if !ok {
			return errNotRegistered
		}
		if c.CertificateTrust == nil {
			return errNoTrust
		}
		return c.CertificateTrust.Check(chain, clk.Now())
	}
}

var _ = Describe("A client certificate from a referenced CA (spec.tlsClientCertificate)", func() {
	reporter := pkix.Name{CommonName: "reporter", Organization: []string{"Team A"}}

	It("is reported missing until the CA Secret exists, then authenticates, and a replaced CA takes effect without a restart", func() {
		ns := newNamespace()
		createClient(ns, "reporter", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret = nil
			c.Spec.TLSClientCertificate = &scopegatev1alpha1.TLSClientCertificate{
				CA:        scopegatev1alpha1.CABundleReference{SecretRef: &scopegatev1alpha1.SecretKeySelector{Name: "team-ca"}},
				SubjectDN: "CN=reporter,O=Team A",
			}
		})
		id := scopegatev1alpha1.ClientIDFor(ns, "reporter")

		By("a CA Secret that does not exist")
		Eventually(func(g Gomega) {
			c := getClient(ns, "reporter")
			cond := condition(c, scopegatev1alpha1.ConditionClientCAResolved)
			g.Expect(cond).NotTo(BeNil())
			g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(cond.Reason).To(Equal(scopegatev1alpha1.ReasonClientCANotFound))
			g.Expect(cond.Message).To(ContainSubstring("spec.tlsClientCertificate.ca: Secret team-ca not found"))
			ready := condition(c, scopegatev1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(scopegatev1alpha1.ReasonClientCANotFound))
		}).Should(Succeed())
		Eventually(func() []string { return eventReasons(ns, "reporter") }).Should(ContainElement("Warning/" + scopegatev1alpha1.ReasonClientCANotFound))
		first, second := newTeamCA("team A CA"), newTeamCA("team A CA 2")
		firstCert, secondCert := first.issue(reporter), second.issue(reporter)
		Eventually(certificateAuthenticates(id, firstCert)).Should(MatchError(errNoTrust))

		By("a Secret without the key")
		// Unlabelled, as cert-manager writes it: the cache does not hold it.
		caSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "team-ca", Namespace: ns}, Data: map[string][]byte{"tls.crt": first.pem()}}
		Expect(k8s.Create(ctx, caSecret)).To(Succeed())
		Eventually(func(g Gomega) {
			cond := condition(getClient(ns, "reporter"), scopegatev1alpha1.ConditionClientCAResolved)
			g.Expect(cond).NotTo(BeNil())
			g.Expect(cond.Message).To(ContainSubstring("Secret team-ca has no key ca.crt"))
		}).Should(Succeed())

		By("a Secret whose ca.crt holds no certificate")
		caSecret.Data = map[string][]byte{"ca.crt": []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")}
		Expect(k8s.Update(ctx, caSecret)).To(Succeed())
		Eventually(func(g Gomega) {
			cond := condition(getClient(ns, "reporter"), scopegatev1alpha1.ConditionClientCAResolved)
			g.Expect(cond).NotTo(BeNil())
			g.Expect(cond.Reason).To(Equal(scopegatev1alpha1.ReasonInvalidClientCA))
			g.Expect(cond.Message).To(ContainSubstring("Secret team-ca key ca.crt holds no usable CA bundle"))
			g.Expect(cond.Message).NotTo(ContainSubstring("AAAA"), "the condition quotes the Secret")
		}).Should(Succeed())

		By("the CA")
		caSecret.Data = map[string][]byte{"ca.crt": first.pem()}
		Expect(k8s.Update(ctx, caSecret)).To(Succeed())
		Eventually(func(g Gomega) {
			c := getClient(ns, "reporter")
			cond := condition(c, scopegatev1alpha1.ConditionClientCAResolved)
			g.Expect(cond).NotTo(BeNil())
			g.Expect(cond.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(cond.Reason).To(Equal(scopegatev1alpha1.ReasonResolved))
			g.Expect(cond.Message).To(ContainSubstring("Secret team-ca key ca.crt"))
			g.Expect(cond.ObservedGeneration).To(Equal(c.Generation))
			g.Expect(condition(c, scopegatev1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
		Eventually(certificateAuthenticates(id, firstCert)).Should(Succeed())
		Expect(certificateAuthenticates(id, first.issue(pkix.Name{CommonName: "writer", Organization: []string{"Team A"}}))()).
			To(HaveOccurred(), "another subject DN authenticated")
		Expect(certificateAuthenticates(id, secondCert)()).To(HaveOccurred(), "a certificate of a CA not yet referenced authenticated")

		By("a replaced CA, picked up by the next read")
		caSecret.Data = map[string][]byte{"ca.crt": second.pem()}
		Expect(k8s.Update(ctx, caSecret)).To(Succeed())
		Eventually(certificateAuthenticates(id, secondCert)).Should(Succeed())
		Expect(certificateAuthenticates(id, firstCert)()).To(HaveOccurred(), "the replaced CA still authenticates")

		By("the CA Secret deleted")
		Expect(k8s.Delete(ctx, caSecret)).To(Succeed())
		Eventually(certificateAuthenticates(id, secondCert)).Should(MatchError(errNoTrust))
		Eventually(func(g Gomega) {
			cond := condition(getClient(ns, "reporter"), scopegatev1alpha1.ConditionClientCAResolved)
			g.Expect(cond).NotTo(BeNil())
			g.Expect(cond.Reason).To(Equal(scopegatev1alpha1.ReasonClientCANotFound))
		}).Should(Succeed())
	})

	It("reads a bundle from a ConfigMap key and matches a URI SAN; the condition goes away with the field", func() {
		ns := newNamespace()
		ca := newTeamCA("mesh CA")
		Expect(k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "mesh-ca", Namespace: ns},
			Data: map[string]string{"bundle.pem": string(ca.pem())}})).To(Succeed())
		const spiffe = "spiffe://cluster.local/ns/team-a/sa/reporter"
		createClient(ns, "mesh", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret = nil
			c.Spec.TLSClientCertificate = &scopegatev1alpha1.TLSClientCertificate{
				CA:     scopegatev1alpha1.CABundleReference{ConfigMapRef: &scopegatev1alpha1.ConfigMapKeySelector{Name: "mesh-ca", Key: "bundle.pem"}},
				SANURI: spiffe,
			}
		})
		id := scopegatev1alpha1.ClientIDFor(ns, "mesh")
		Eventually(certificateAuthenticates(id, ca.issue(pkix.Name{CommonName: "anything"}, spiffe))).Should(Succeed())
		Expect(certificateAuthenticates(id, ca.issue(pkix.Name{CommonName: "anything"}, spiffe+"-other"))()).To(HaveOccurred())
		Eventually(func(g Gomega) {
			cond := condition(getClient(ns, "mesh"), scopegatev1alpha1.ConditionClientCAResolved)
			g.Expect(cond).NotTo(BeNil())
			g.Expect(cond.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(cond.Message).To(ContainSubstring("ConfigMap mesh-ca key bundle.pem"))
		}).Should(Succeed())

		updateClient(ns, "mesh", func(c *scopegatev1alpha1.OAuthClient) { c.Spec.TLSClientCertificate = nil })
		Eventually(func(g Gomega) {
			g.Expect(condition(getClient(ns, "mesh"), scopegatev1alpha1.ConditionClientCAResolved)).To(BeNil())
		}).Should(Succeed())
		Eventually(certificateAuthenticates(id, ca.issue(pkix.Name{CommonName: "anything"}, spiffe))).Should(MatchError(errNoTrust))
	})
})

var (
	errNotRegistered = errors.New("the client is not registered")
	errNoTrust       = errors.New("the client has no certificate trust")
)

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	Expect(err).NotTo(HaveOccurred())
	return u
}
