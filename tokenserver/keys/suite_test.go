package keys

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	testingclock "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scopegate/scopegate/internal/testenv"
)

var k8s client.Client

func TestMain(m *testing.M) {
	testenv.Main(m, func(_ *rest.Config, cl client.Client) { k8s = cl })
}

func secretWith(data []byte) *corev1.Secret {
	return &corev1.Secret{Data: map[string][]byte{SecretDataKey: data}}
}

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "keys-"}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func newStore(t *testing.T, key types.NamespacedName, c *testingclock.FakeClock, p Policy) (*Store, *Ring) {
	t.Helper()
	ring := NewRing(p, c.Now)
	s, err := NewStore(StoreOptions{Secret: key, Reader: k8s, Client: k8s, Ring: ring, Now: c.Now, Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	return s, ring
}

func TestSecretStore(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	key := types.NamespacedName{Namespace: newNamespace(t), Name: "scopegate-signing-keys"}
	c := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := Policy{RotationPeriod: 10 * time.Hour, PrePublish: time.Hour, RetireAfter: 2 * time.Hour}

	leader, leaderRing := newStore(t, key, c, p)
	follower, followerRing := newStore(t, key, c, p)

	t.Log("a follower without a Secret cannot sign yet")
	g.Expect(follower.Reload(ctx)).To(Succeed())
	g.Expect(followerRing.Ready()).To(BeFalse())

	t.Log("the leader creates the Secret when absent, labelled for the manager's cache")
	g.Expect(leader.Rotate(ctx)).To(BeTrue())
	var sec corev1.Secret
	g.Expect(k8s.Get(ctx, key, &sec)).To(Succeed())
	g.Expect(sec.Labels).To(HaveKeyWithValue(ManagedByLabel, ManagedByValue))
	first, err := leaderRing.Signing()
	g.Expect(err).NotTo(HaveOccurred())

	t.Log("a second ring reads the same key")
	g.Expect(follower.Reload(ctx)).To(Succeed())
	k, err := followerRing.Signing()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(k.ID).To(Equal(first.ID))

	t.Log("nothing is written mid-period")
	g.Expect(leader.Rotate(ctx)).To(BeFalse())

	t.Log("rotation is persisted and reaches the follower before the key signs")
	c.Step(9*time.Hour + time.Minute)
	g.Expect(leader.Rotate(ctx)).To(BeTrue())
	g.Expect(follower.Reload(ctx)).To(Succeed())
	g.Expect(followerRing.JWKS().Keys).To(HaveLen(2))
	k, _ = followerRing.Signing()
	g.Expect(k.ID).To(Equal(first.ID))
	c.Step(time.Hour)
	k, _ = followerRing.Signing()
	g.Expect(k.ID).NotTo(Equal(first.ID))

	t.Log("a new store instance, as after a restart, reads the rotated set")
	_, restartedRing := newStore(t, key, c, p)
	restarted, _ := NewStore(StoreOptions{Secret: key, Reader: k8s, Client: k8s, Ring: restartedRing, Now: c.Now})
	g.Expect(restarted.Reload(ctx)).To(Succeed())
	g.Expect(restartedRing.Snapshot().Keys).To(HaveLen(2))

	t.Log("the retired key is dropped from the Secret after RetireAfter")
	c.Step(2*time.Hour + time.Minute)
	g.Expect(leader.Rotate(ctx)).To(BeTrue())
	g.Expect(follower.Reload(ctx)).To(Succeed())
	g.Expect(followerRing.Snapshot().Keys).To(HaveLen(1))
}

func TestConcurrentRotationsConverge(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	key := types.NamespacedName{Namespace: newNamespace(t), Name: "keys"}
	c := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		s, _ := newStore(t, key, c, Policy{})
		wg.Add(1)
		go func() { defer wg.Done(); _, err := s.Rotate(ctx); errs <- err }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		g.Expect(err).NotTo(HaveOccurred())
	}
	var sec corev1.Secret
	g.Expect(k8s.Get(ctx, key, &sec)).To(Succeed())
	set, err := decodeSecret(&sec)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(set.Keys).To(HaveLen(1), "racing writers must not create several first keys")
}
