package keys

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	testingclock "k8s.io/utils/clock/testing"
)

func TestOnDemandRotation(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	key := types.NamespacedName{Namespace: newNamespace(t), Name: "scopegate-signing-keys"}
	c := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := Policy{RotationPeriod: 10 * time.Hour, PrePublish: time.Hour, RetireAfter: 2 * time.Hour}
	leader, ring := newStore(t, key, c, p)
	g.Expect(leader.Rotate(ctx)).To(BeTrue())
	first, err := ring.Signing()
	g.Expect(err).NotTo(HaveOccurred())

	t.Log("annotating the Secret publishes a new key that signs after the manual pre-publication")
	var sec corev1.Secret
	g.Expect(k8s.Get(ctx, key, &sec)).To(Succeed())
	sec.Annotations = map[string]string{AnnotationRotate: "one"}
	g.Expect(k8s.Update(ctx, &sec)).To(Succeed())
	g.Expect(leader.Rotate(ctx)).To(BeTrue())
	g.Expect(ring.JWKS().Keys).To(HaveLen(2))
	k, _ := ring.Signing()
	g.Expect(k.ID).To(Equal(first.ID), "the new key must not sign before every replica could load it")
	c.Step(leader.opts.ManualPrePublish)
	k, _ = ring.Signing()
	g.Expect(k.ID).NotTo(Equal(first.ID))
	g.Expect(ring.KeyRetired(first.ID)).To(BeTrue())
	_, published := ring.PublicKey(first.ID)
	g.Expect(published).To(BeTrue(), "the old key stays published for its tokens")

	t.Log("the handled value is recorded, so the same annotation does not rotate again")
	g.Expect(k8s.Get(ctx, key, &sec)).To(Succeed())
	g.Expect(sec.Annotations).To(HaveKeyWithValue(AnnotationRotated, "one"))
	g.Expect(leader.Rotate(ctx)).To(BeFalse())
	g.Expect(ring.JWKS().Keys).To(HaveLen(2))
}
