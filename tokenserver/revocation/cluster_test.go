package revocation

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	testingclock "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scopegate/scopegate/internal/owned"
	"github.com/scopegate/scopegate/internal/testenv"
)

var (
	cfg *rest.Config
	k8s client.Client
)

func TestMain(m *testing.M) {
	testenv.Main(m, func(c *rest.Config, cl client.Client) { cfg, k8s = c, cl })
}

// startStore runs a Cluster store until the test ends.
func startStore(t *testing.T, ns string, c *testingclock.FakeClock) *Cluster {
	t.Helper()
	s, err := NewCluster(ClusterOptions{Config: cfg, Namespace: ns, Now: c.Now, Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if !s.WaitForSync(ctx) {
		t.Fatal("revocation cache did not sync")
	}
	NewWithT(t).Eventually(func() error { return s.Ready(nil) }).Should(Succeed())
	return s
}

// freshNamespace creates a namespace of its own for a test's stores and
// returns it with a fake clock at a whole second.
func freshNamespace(t *testing.T) (string, *testingclock.FakeClock) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "revocation-"}}
	NewWithT(t).Expect(k8s.Create(context.Background(), ns)).To(Succeed())
	return ns.Name, testingclock.NewFakeClock(time.Now().Truncate(time.Second))
}

func TestClusterStore(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns, c := freshNamespace(t)

	a := startStore(t, ns, c)
	b := startStore(t, ns, c)

	t.Log("a revocation is visible at once on the replica that made it")
	g.Expect(a.Revoke(ctx, "jti-1", c.Now().Add(time.Hour))).To(Succeed())
	g.Expect(a.Revoked("jti-1")).To(BeTrue())
	g.Expect(a.Revoked("jti-2")).To(BeFalse())

	t.Log("and on another replica within 2 seconds")
	g.Eventually(func() bool { return b.Revoked("jti-1") }).WithTimeout(2 * time.Second).WithPolling(20 * time.Millisecond).Should(BeTrue())

	t.Log("it is stored as a labelled ConfigMap with its expiry")
	var cm corev1.ConfigMap
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: Name("jti-1")}, &cm)).To(Succeed())
	g.Expect(cm.Labels).To(HaveKeyWithValue(owned.LabelManagedBy, owned.ManagedBy))
	g.Expect(cm.Labels).To(HaveKeyWithValue(RevocationLabel, "true"))
	g.Expect(cm.Annotations).To(HaveKey(ExpiresAtAnnotation))

	t.Log("revoking twice is not an error")
	g.Expect(b.Revoke(ctx, "jti-1", c.Now().Add(time.Hour))).To(Succeed())

	t.Log("a new store instance, as after a restart, knows it")
	restarted := startStore(t, ns, c)
	g.Expect(restarted.Revoked("jti-1")).To(BeTrue())

	t.Log("garbage collection keeps it until the token expired plus the retention")
	g.Expect(a.Revoke(ctx, "jti-long", c.Now().Add(48*time.Hour))).To(Succeed())
	c.Step(time.Hour + Retention)
	g.Expect(a.CollectGarbage(ctx)).To(Equal(0))
	c.Step(time.Minute)
	g.Expect(a.CollectGarbage(ctx)).To(Equal(1))
	g.Eventually(func() bool { return b.Revoked("jti-1") }).WithTimeout(2 * time.Second).Should(BeFalse())
	g.Expect(b.Revoked("jti-long")).To(BeTrue())
	var list corev1.ConfigMapList
	g.Expect(k8s.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{RevocationLabel: "true"})).To(Succeed())
	g.Expect(list.Items).To(HaveLen(1))
}

// TestAStoreIsReadyOnlyWithEveryStoredRevocation: a replica starting with
// many revocations stored must not report ready (and so verify tokens)
// while its set holds only part of them. The informer's store syncs before
// its event handler has been handed the whole list.
func TestAStoreIsReadyOnlyWithEveryStoredRevocation(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns, c := freshNamespace(t)
	writer := startStore(t, ns, c)
	const n = 500
	jtis := make(chan string)
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			for jti := range jtis {
				if err := writer.Revoke(ctx, jti, c.Now().Add(time.Hour)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for i := range n {
		jtis <- fmt.Sprintf("jti-%05d", i)
	}
	close(jtis)
	for range 16 {
		g.Expect(<-errs).To(Succeed())
	}

	t.Log("a store started with them stored is not ready while its set is still being filled")
	for range 2 {
		s, err := NewCluster(ClusterOptions{Config: cfg, Namespace: ns, Now: c.Now, Log: logr.Discard()})
		g.Expect(err).NotTo(HaveOccurred())
		// Hold the set, as a slow replica would: the informer lists and
		// syncs, its handler waits.
		s.s.mu.Lock()
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = s.Start(sctx) }()
		g.Expect(s.cache.WaitForCacheSync(sctx)).To(BeTrue())
		g.Consistently(func() error { return s.Ready(nil) }).WithTimeout(500 * time.Millisecond).Should(HaveOccurred())
		s.s.mu.Unlock()
		g.Eventually(func() error { return s.Ready(nil) }).WithTimeout(30 * time.Second).Should(Succeed())
		g.Expect(s.Len()).To(Equal(n))
		g.Expect(s.Revoked(fmt.Sprintf("jti-%05d", n-1))).To(BeTrue())

		t.Log("its cache keeps only the jti, the expiry and what deletion needs")
		var cm corev1.ConfigMap
		g.Expect(s.cache.Get(ctx, client.ObjectKey{Namespace: ns, Name: Name("jti-00000")}, &cm)).To(Succeed())
		g.Expect(cm.ManagedFields).To(BeEmpty())
		g.Expect(cm.Labels).To(BeEmpty())
		g.Expect(cm.UID).NotTo(BeEmpty())
		g.Expect(cm.Data).To(Equal(map[string]string{JTIKey: "jti-00000"}))
		g.Expect(cm.Annotations).To(HaveKey(ExpiresAtAnnotation))
		cancel()
		<-done
	}
}
