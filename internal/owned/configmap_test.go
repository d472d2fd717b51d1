package owned

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/scopegate/scopegate/internal/testenv"
)

func TestWriteConfigMap(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	ns := newNamespace(t)
	key := types.NamespacedName{Namespace: ns, Name: "scopegate-ca"}
	get := func() *corev1.ConfigMap {
		cm := &corev1.ConfigMap{}
		g.Expect(k8s.Get(ctx, key, cm)).To(Succeed())
		return cm
	}
	want := func(owner *corev1.ConfigMap, bundle string) ConfigMap {
		return ConfigMap{Key: key, Data: map[string]string{"ca.crt": bundle}, Owner: &Owner{Object: owner, Scheme: testenv.Scheme()}}
	}
	a, b := newOwner(t, ns, "client-a"), newOwner(t, ns, "client-b")

	t.Log("the first client creates it, labelled and owned")
	res, err := WriteConfigMap(ctx, k8s, nil, want(a, "one"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(Created))
	cm := get()
	g.Expect(cm.Labels).To(HaveKeyWithValue(LabelManagedBy, ManagedBy))
	g.Expect(cm.OwnerReferences).To(HaveLen(1))

	t.Log("a key someone added stays when the second client adds itself as an owner")
	cm.Data["extra.crt"] = "theirs"
	g.Expect(k8s.Update(ctx, cm)).To(Succeed())
	res, err = WriteConfigMap(ctx, k8s, get(), want(b, "one"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(Updated))
	cm = get()
	g.Expect(cm.Data).To(Equal(map[string]string{"ca.crt": "one", "extra.crt": "theirs"}))
	g.Expect(cm.OwnerReferences).To(HaveLen(2))
	for _, r := range cm.OwnerReferences {
		g.Expect(r.Controller).To(BeNil(), "an owner among others, not the controller")
	}

	t.Log("each owner writing the same bundle again costs nothing")
	c := &counting{Client: k8s}
	for _, o := range []*corev1.ConfigMap{a, b} {
		res, err = WriteConfigMap(ctx, c, get(), want(o, "one"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res).To(Equal(Unchanged))
	}
	g.Expect(c.writes.Load()).To(BeZero())
	g.Expect(get().ResourceVersion).To(Equal(cm.ResourceVersion))

	t.Log("a new bundle is written once")
	res, err = WriteConfigMap(ctx, c, get(), want(a, "two"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(Updated))
	g.Expect(c.writes.Load()).To(BeEquivalentTo(1))
	g.Expect(get().Data["ca.crt"]).To(Equal("two"))
}
