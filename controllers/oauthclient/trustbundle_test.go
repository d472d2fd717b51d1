package oauthclient

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// fakeBundle is a CABundle whose bundle a spec changes, as a CA rotation
// does.
type fakeBundle struct {
	mu   sync.Mutex
	pem  []byte
	subs []chan struct{}
}

func newFakeBundle(cn string) *fakeBundle { return &fakeBundle{pem: selfSigned(cn)} }

func (f *fakeBundle) Bundle() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pem
}

func (f *fakeBundle) Subscribe() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan struct{}, 1)
	f.subs = append(f.subs, ch)
	return ch
}

func (f *fakeBundle) set(b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pem = b
	for _, ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// selfSigned is a CA certificate in PEM.
func selfSigned(cn string) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	Expect(err).NotTo(HaveOccurred())
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// caOf is ca.crt of the Secret ns/name ("" while it does not exist).
func caOf(ns, name string) []byte {
	s := &corev1.Secret{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
		return nil
	}
	return s.Data[KeyCACert]
}

func trustConfigMap(ns string) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: TrustBundleConfigMap}, cm)).To(Succeed())
	return cm
}

var _ = Describe("The CA bundle", func() {
	It("is published in every Secret and in one ConfigMap per namespace, and follows a rotation", func() {
		ns := newNamespace()
		a := createClient(ns, "bundle-a", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.TokenSecret = &scopegatev1alpha1.TokenSecretSpec{}
		})
		b := createClient(ns, "bundle-b", nil)
		old := caBundle.Bundle()

		By("ca.crt in the credentials and token Secrets, and the namespace's scopegate-ca ConfigMap owned by both clients")
		Eventually(func(g Gomega) {
			g.Expect(caOf(ns, "bundle-a-credentials")).To(Equal(old))
			g.Expect(caOf(ns, "bundle-a-token")).To(Equal(old))
			g.Expect(caOf(ns, "bundle-b-credentials")).To(Equal(old))
			cm := &corev1.ConfigMap{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: TrustBundleConfigMap}, cm)).To(Succeed())
			g.Expect(cm.Data).To(HaveKeyWithValue(KeyCACert, string(old)))
			g.Expect(cm.Labels).To(HaveKeyWithValue(LabelManagedBy, ManagedBy))
			var owners []string
			for _, o := range cm.OwnerReferences {
				g.Expect(o.Controller == nil || !*o.Controller).To(BeTrue(), "no client controls the shared ConfigMap")
				owners = append(owners, o.Name)
			}
			g.Expect(owners).To(ConsistOf(a.Name, b.Name))
		}).Should(Succeed())
		tokenBefore := string(getSecret(ns, "bundle-a-token").Data[KeyAccessToken])
		secretBefore := string(getSecret(ns, "bundle-a-credentials").Data[KeyClientSecret])

		By("a new bundle (old and new CA, as during a rotation) reaches every copy without touching the credentials or the token")
		rotated := append(append([]byte{}, old...), selfSigned("bundle-2")...)
		caBundle.set(rotated)
		DeferCleanup(func() { caBundle.set(old) })
		Eventually(func(g Gomega) {
			g.Expect(caOf(ns, "bundle-a-credentials")).To(Equal(rotated))
			g.Expect(caOf(ns, "bundle-a-token")).To(Equal(rotated))
			g.Expect(caOf(ns, "bundle-b-credentials")).To(Equal(rotated))
			cm := &corev1.ConfigMap{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: TrustBundleConfigMap}, cm)).To(Succeed())
			g.Expect(cm.Data[KeyCACert]).To(Equal(string(rotated)))
		}).Should(Succeed())
		Expect(string(getSecret(ns, "bundle-a-token").Data[KeyAccessToken])).To(Equal(tokenBefore))
		Expect(string(getSecret(ns, "bundle-a-credentials").Data[KeyClientSecret])).To(Equal(secretBefore))

		By("an edited ConfigMap is restored")
		cm := trustConfigMap(ns)
		cm.Data[KeyCACert] = "tampered"
		Expect(k8s.Update(ctx, cm)).To(Succeed())
		Eventually(func(g Gomega) {
			cm := &corev1.ConfigMap{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: TrustBundleConfigMap}, cm)).To(Succeed())
			g.Expect(cm.Data[KeyCACert]).To(Equal(string(rotated)))
		}).Should(Succeed())

		By("a deleted ConfigMap is recreated")
		Expect(k8s.Delete(ctx, trustConfigMap(ns))).To(Succeed())
		Eventually(func(g Gomega) {
			cm := &corev1.ConfigMap{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: TrustBundleConfigMap}, cm)).To(Succeed())
			g.Expect(cm.Data[KeyCACert]).To(Equal(string(rotated)))
			g.Expect(cm.DeletionTimestamp).To(BeNil())
		}).Should(Succeed())
	})

	It("never takes over a ConfigMap of that name that scopegate did not create", func() {
		ns := newNamespace()
		Expect(k8s.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: TrustBundleConfigMap},
			Data:       map[string]string{KeyCACert: "theirs"},
		})).To(Succeed())
		createClient(ns, "foreign-cm", nil)
		Eventually(func() []byte { return caOf(ns, "foreign-cm-credentials") }).Should(Equal(caBundle.Bundle()))
		Consistently(func() string { return trustConfigMap(ns).Data[KeyCACert] }, 2*time.Second).Should(Equal("theirs"))
	})
})
