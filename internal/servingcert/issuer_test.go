package servingcert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	testingclock "k8s.io/utils/clock/testing"
)

// replica is one manager's view: a SecretLoader feeding a Source.
type replica struct {
	source *Source
	cancel context.CancelFunc
}

func startReplica(t *testing.T, key types.NamespacedName) *replica {
	t.Helper()
	src := NewSource()
	l, err := NewSecretLoader(cfg, nil, key, src, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = l.Start(ctx) }()
	t.Cleanup(cancel)
	return &replica{source: src, cancel: cancel}
}

func serial(s *Source) string {
	if l := s.Leaf(); l != nil {
		return l.SerialNumber.String()
	}
	return ""
}

func poolOf(pemBytes []byte) *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(pemBytes)
	return p
}

func TestTheLeaderWritesAndEveryReplicaReloads(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	caKey := types.NamespacedName{Namespace: ns, Name: CASecretName}
	tlsKey := types.NamespacedName{Namespace: ns, Name: TLSSecretName}
	clk := testingclock.NewFakeClock(time.Now())
	iss, err := NewIssuer(IssuerOptions{
		CASecret: caKey, TLSSecret: tlsKey, Names: []string{"localhost", "127.0.0.1"},
		CertLifetime: 30 * time.Hour, CA: CAPolicy{Lifetime: 300 * time.Hour, Overlap: 10 * time.Hour},
		Client: k8s, Clock: clk, Log: logr.Discard(),
	})
	g.Expect(err).NotTo(HaveOccurred())
	a, b := startReplica(t, tlsKey), startReplica(t, tlsKey)

	t.Log("replicas serve nothing before the leader wrote")
	g.Consistently(func() error { return a.source.Ready(nil) }, 300*time.Millisecond).ShouldNot(Succeed())

	t.Log("the leader creates the CA Secret and the kubernetes.io/tls Secret")
	g.Expect(iss.Reconcile(ctx)).To(Succeed())
	var tlsSecret, caSecret corev1.Secret
	g.Expect(k8s.Get(ctx, tlsKey, &tlsSecret)).To(Succeed())
	g.Expect(k8s.Get(ctx, caKey, &caSecret)).To(Succeed())
	g.Expect(tlsSecret.Type).To(Equal(corev1.SecretTypeTLS))
	g.Expect(tlsSecret.Labels).To(HaveKeyWithValue(ManagedByLabel, ManagedByValue))
	g.Expect(caSecret.Labels).To(HaveKeyWithValue(ManagedByLabel, ManagedByValue))
	g.Expect(tlsSecret.Data[KeyCACert]).To(Equal(caSecret.Data[KeyCACert]))

	t.Log("both replicas load the same certificate, which verifies against the published bundle")
	g.Eventually(func() string { return serial(a.source) }, 10*time.Second).ShouldNot(BeEmpty())
	g.Eventually(func() string { return serial(b.source) }, 10*time.Second).Should(Equal(serial(a.source)))
	first := serial(a.source)
	_, err = a.source.Leaf().Verify(x509.VerifyOptions{Roots: poolOf(a.source.Bundle()), DNSName: "127.0.0.1"})
	g.Expect(err).NotTo(HaveOccurred())

	t.Log("a second pass writes nothing")
	rv := tlsSecret.ResourceVersion
	g.Expect(iss.Reconcile(ctx)).To(Succeed())
	g.Expect(k8s.Get(ctx, tlsKey, &tlsSecret)).To(Succeed())
	g.Expect(tlsSecret.ResourceVersion).To(Equal(rv))

	t.Log("a TLS server on replica A keeps an open connection across the renewal")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }), TLSConfig: a.source.TLSConfig()}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	defer srv.Close()
	url := "https://" + ln.Addr().String()
	newClient := func() *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: poolOf(a.source.Bundle()), Time: clk.Now}, ForceAttemptHTTP2: true}}
	}
	keepAlive := newClient()
	peer := func(c *http.Client) string {
		res, err := c.Get(url)
		g.Expect(err).NotTo(HaveOccurred())
		defer res.Body.Close()
		_, _ = io.ReadAll(res.Body)
		g.Expect(res.ProtoMajor).To(Equal(2), "HTTP/2 by ALPN")
		return res.TLS.PeerCertificates[0].SerialNumber.String()
	}
	g.Expect(peer(keepAlive)).To(Equal(first))

	t.Log("at 2/3 of its lifetime the certificate is renewed and every replica reloads it")
	clk.Step(20*time.Hour + time.Minute)
	g.Expect(iss.Reconcile(ctx)).To(Succeed())
	g.Eventually(func() string { return serial(a.source) }, 10*time.Second).ShouldNot(Equal(first))
	g.Eventually(func() string { return serial(b.source) }, 10*time.Second).Should(Equal(serial(a.source)))
	second := serial(a.source)
	g.Expect(peer(keepAlive)).To(Equal(first), "the open connection keeps the certificate it was made with")
	g.Expect(peer(newClient())).To(Equal(second), "a new connection sees the new certificate")

	t.Log("an on-demand serving-certificate rotation re-issues at once")
	g.Expect(k8s.Get(ctx, tlsKey, &tlsSecret)).To(Succeed())
	tlsSecret.Annotations = map[string]string{AnnotationRotateCert: "1"}
	g.Expect(k8s.Update(ctx, &tlsSecret)).To(Succeed())
	g.Expect(iss.Reconcile(ctx)).To(Succeed())
	g.Eventually(func() string { return serial(b.source) }, 10*time.Second).ShouldNot(Equal(second))
	g.Expect(k8s.Get(ctx, tlsKey, &tlsSecret)).To(Succeed())
	g.Expect(tlsSecret.Annotations).To(HaveKeyWithValue(AnnotationRotatedCert, "1"))

	t.Log("an on-demand CA rotation publishes the new CA first and signs with it one overlap later")
	oldBundle := a.source.Bundle()
	oldIssuer := a.source.Leaf().AuthorityKeyId
	changes := a.source.Subscribe()
	g.Expect(k8s.Get(ctx, caKey, &caSecret)).To(Succeed())
	caSecret.Annotations = map[string]string{AnnotationRotateCA: "1"}
	g.Expect(k8s.Update(ctx, &caSecret)).To(Succeed())
	g.Expect(iss.Reconcile(ctx)).To(Succeed())
	g.Eventually(changes, 10*time.Second).Should(Receive(), "bundle subscribers are told")
	bundle, err := ParseCerts(a.source.Bundle())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(bundle).To(HaveLen(2))
	g.Expect(a.source.Leaf().AuthorityKeyId).To(Equal(oldIssuer), "the old CA signs during the overlap")
	_, err = a.source.Leaf().Verify(x509.VerifyOptions{Roots: poolOf(oldBundle), DNSName: "localhost", CurrentTime: clk.Now()})
	g.Expect(err).NotTo(HaveOccurred(), "clients with the old bundle still verify")

	clk.Step(10*time.Hour + time.Minute)
	g.Expect(iss.Reconcile(ctx)).To(Succeed())
	g.Eventually(func() []byte { return a.source.Leaf().AuthorityKeyId }, 10*time.Second).ShouldNot(Equal(oldIssuer))
	newBundle := a.source.Bundle()
	_, err = a.source.Leaf().Verify(x509.VerifyOptions{Roots: poolOf(newBundle), DNSName: "localhost", CurrentTime: clk.Now()})
	g.Expect(err).NotTo(HaveOccurred(), "the bundle published during the overlap verifies the new certificate")

	t.Log("one overlap after the new CA signs, the old one leaves the bundle")
	clk.Step(10*time.Hour + time.Minute)
	g.Expect(iss.Reconcile(ctx)).To(Succeed())
	g.Eventually(func() int { c, _ := ParseCerts(b.source.Bundle()); return len(c) }, 10*time.Second).Should(Equal(1))
}

func TestATLSSecretThatDoesNotParseKeepsTheLastCertificate(t *testing.T) {
	g := NewWithT(t)
	ca, err := GenerateCA(time.Now(), time.Now(), time.Hour)
	g.Expect(err).NotTo(HaveOccurred())
	leaf, err := IssueLeaf(ca, []string{"localhost"}, time.Now(), time.Hour)
	g.Expect(err).NotTo(HaveOccurred())
	src := NewSource()
	_, _, err = LoadSecret(src, &corev1.Secret{Data: map[string][]byte{KeyTLSCert: leaf.CertPEM, KeyTLSKey: leaf.KeyPEM}})
	g.Expect(err).NotTo(HaveOccurred())
	before := serial(src)
	_, _, err = LoadSecret(src, &corev1.Secret{Data: map[string][]byte{KeyTLSCert: leaf.CertPEM, KeyTLSKey: []byte("garbage")}})
	g.Expect(err).To(HaveOccurred())
	g.Expect(serial(src)).To(Equal(before))
	g.Expect(src.Bundle()).To(BeEmpty(), "no ca.crt, nothing to publish")
}

func TestSecretModeFollowsASecretScopegateDidNotWrite(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	key := types.NamespacedName{Namespace: newNamespace(t), Name: "from-cert-manager"}
	ca, err := GenerateCA(time.Now(), time.Now(), time.Hour)
	g.Expect(err).NotTo(HaveOccurred())
	issue := func() Leaf {
		l, err := IssueLeaf(ca, []string{"scopegate.scopegate-system.svc"}, time.Now(), time.Hour)
		g.Expect(err).NotTo(HaveOccurred())
		return l
	}
	first := issue()
	// As cert-manager writes it: no scopegate label.
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{KeyTLSCert: first.CertPEM, KeyTLSKey: first.KeyPEM, KeyCACert: Bundle([]CA{ca})},
	}
	g.Expect(k8s.Create(ctx, s)).To(Succeed())
	r := startReplica(t, key)
	g.Eventually(func() string { return serial(r.source) }, 10*time.Second).ShouldNot(BeEmpty())
	g.Expect(r.source.Bundle()).To(Equal(Bundle([]CA{ca})))
	before := serial(r.source)

	t.Log("a renewal written by someone else is served at once")
	renewed := issue()
	s.Data[KeyTLSCert], s.Data[KeyTLSKey] = renewed.CertPEM, renewed.KeyPEM
	g.Expect(k8s.Update(ctx, s)).To(Succeed())
	g.Eventually(func() string { return serial(r.source) }, 10*time.Second).ShouldNot(Equal(before))

	t.Log("a broken update keeps the last good certificate")
	good := serial(r.source)
	s.Data[KeyTLSKey] = []byte("not a key")
	g.Expect(k8s.Update(ctx, s)).To(Succeed())
	g.Consistently(func() string { return serial(r.source) }, time.Second).Should(Equal(good))
}
