package owned

import (
	"context"
	"errors"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/scopegate/scopegate/internal/testenv"
)

func getSecret(t *testing.T, key types.NamespacedName) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	if err := k8s.Get(context.Background(), key, s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWriteSecret(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	owner := newOwner(t, ns, "owner")
	controlled := &Owner{Object: owner, Scheme: testenv.Scheme(), Controller: true}

	t.Run("A new Secret gets its keys, type, the managed-by label and a controller reference", func(t *testing.T) {
		g := NewWithT(t)
		key := types.NamespacedName{Namespace: ns, Name: "new"}
		res, err := WriteSecret(ctx, k8s, nil, Secret{
			Key: key, Type: corev1.SecretTypeTLS, Owner: controlled,
			Labels:      map[string]string{LabelComponent: "serving-cert"},
			Annotations: map[string]string{"scopegate.dev/rotated": "1"},
			Data:        map[string][]byte{"tls.crt": []byte("c"), "tls.key": []byte("k")},
		})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res).To(Equal(Created))
		s := getSecret(t, key)
		g.Expect(s.Type).To(Equal(corev1.SecretTypeTLS))
		g.Expect(s.Labels).To(Equal(map[string]string{LabelManagedBy: ManagedBy, LabelComponent: "serving-cert"}))
		g.Expect(s.Annotations).To(HaveKeyWithValue("scopegate.dev/rotated", "1"))
		g.Expect(s.Data).To(HaveKeyWithValue("tls.crt", []byte("c")))
		g.Expect(s.OwnerReferences).To(HaveLen(1))
		g.Expect(s.OwnerReferences[0].UID).To(Equal(owner.UID))
		g.Expect(*s.OwnerReferences[0].Controller).To(BeTrue())
	})

	t.Run("A converged Secret costs no write", func(t *testing.T) {
		g := NewWithT(t)
		key := types.NamespacedName{Namespace: ns, Name: "converged"}
		want := Secret{
			Key: key, Owner: controlled,
			Labels: map[string]string{LabelComponent: "signing-keys"},
			Data:   map[string][]byte{"keys.json": []byte("{}")},
			// Allocating empty maps, as convergeCredentials does, is not a
			// change: the API server stores none.
			Mutate: func(s *corev1.Secret) error {
				if s.Annotations == nil {
					s.Annotations = map[string]string{}
				}
				return nil
			},
		}
		_, err := WriteSecret(ctx, k8s, nil, want)
		g.Expect(err).NotTo(HaveOccurred())
		before := getSecret(t, key)

		c := &counting{Client: k8s}
		res, err := WriteSecret(ctx, c, before, want)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res).To(Equal(Unchanged))
		g.Expect(res.Wrote()).To(BeFalse())
		g.Expect(c.writes.Load()).To(BeZero())
		g.Expect(getSecret(t, key).ResourceVersion).To(Equal(before.ResourceVersion))
	})

	t.Run("Keys, labels and annotations someone else added stay, and a removed managed-by label comes back", func(t *testing.T) {
		g := NewWithT(t)
		key := types.NamespacedName{Namespace: ns, Name: "shared"}
		want := Secret{Key: key, Data: map[string][]byte{"ours": []byte("1")}}
		_, err := WriteSecret(ctx, k8s, nil, want)
		g.Expect(err).NotTo(HaveOccurred())

		s := getSecret(t, key)
		s.Data["theirs"] = []byte("kept")
		s.Labels = map[string]string{"team": "a"}
		s.Annotations = map[string]string{"note": "by hand"}
		g.Expect(k8s.Update(ctx, s)).To(Succeed())

		want.Data = map[string][]byte{"ours": []byte("2")}
		res, err := WriteSecret(ctx, k8s, getSecret(t, key), want)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res).To(Equal(Updated))
		s = getSecret(t, key)
		g.Expect(s.Data).To(Equal(map[string][]byte{"ours": []byte("2"), "theirs": []byte("kept")}))
		g.Expect(s.Labels).To(Equal(map[string]string{"team": "a", LabelManagedBy: ManagedBy}))
		g.Expect(s.Annotations).To(Equal(map[string]string{"note": "by hand"}))
	})

	t.Run("An update from a stale read fails with a conflict and changes nothing", func(t *testing.T) {
		g := NewWithT(t)
		key := types.NamespacedName{Namespace: ns, Name: "stale"}
		_, err := WriteSecret(ctx, k8s, nil, Secret{Key: key, Data: map[string][]byte{"k": []byte("1")}})
		g.Expect(err).NotTo(HaveOccurred())
		stale := getSecret(t, key)
		_, err = WriteSecret(ctx, k8s, stale, Secret{Key: key, Data: map[string][]byte{"k": []byte("2")}})
		g.Expect(err).NotTo(HaveOccurred())
		latest := getSecret(t, key)

		res, err := WriteSecret(ctx, k8s, stale, Secret{Key: key, What: "test Secret", Data: map[string][]byte{"k": []byte("3")}})
		g.Expect(apierrors.IsConflict(err)).To(BeTrue(), "error %v", err)
		g.Expect(err.Error()).To(ContainSubstring("update test Secret " + key.String()))
		g.Expect(res).To(Equal(Unchanged))
		g.Expect(getSecret(t, key).ResourceVersion).To(Equal(latest.ResourceVersion))
		g.Expect(stale.Data["k"]).To(Equal([]byte("1")), "the object passed in is not modified")
	})

	t.Run("A create over an existing Secret fails with AlreadyExists", func(t *testing.T) {
		g := NewWithT(t)
		key := types.NamespacedName{Namespace: ns, Name: "exists"}
		_, err := WriteSecret(ctx, k8s, nil, Secret{Key: key})
		g.Expect(err).NotTo(HaveOccurred())
		_, err = WriteSecret(ctx, k8s, nil, Secret{Key: key})
		g.Expect(apierrors.IsAlreadyExists(err)).To(BeTrue(), "error %v", err)
	})

	t.Run("A Secret of another type keeps it, unless replacing it is asked for", func(t *testing.T) {
		g := NewWithT(t)
		key := types.NamespacedName{Namespace: ns, Name: "typed"}
		_, err := WriteSecret(ctx, k8s, nil, Secret{Key: key, Data: map[string][]byte{"theirs": []byte("kept")}})
		g.Expect(err).NotTo(HaveOccurred())
		old := getSecret(t, key)

		want := Secret{Key: key, Type: "scopegate.dev/test", Data: map[string][]byte{"ours": []byte("1")}}
		res, err := WriteSecret(ctx, k8s, old, want)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res).To(Equal(Updated))
		kept := getSecret(t, key)
		g.Expect(kept.Type).To(Equal(corev1.SecretTypeOpaque))
		g.Expect(kept.UID).To(Equal(old.UID))

		want.ReplaceOtherType = true
		want.Owner = controlled
		res, err = WriteSecret(ctx, k8s, kept, want)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res).To(Equal(Replaced))
		s := getSecret(t, key)
		g.Expect(s.Type).To(Equal(corev1.SecretType("scopegate.dev/test")))
		g.Expect(s.UID).NotTo(Equal(old.UID))
		g.Expect(s.Data).To(Equal(map[string][]byte{"ours": []byte("1"), "theirs": []byte("kept")}))
		g.Expect(s.OwnerReferences).To(HaveLen(1))
	})

	t.Run("A replacement from a stale read fails with a conflict and deletes nothing", func(t *testing.T) {
		g := NewWithT(t)
		key := types.NamespacedName{Namespace: ns, Name: "stale-type"}
		_, err := WriteSecret(ctx, k8s, nil, Secret{Key: key})
		g.Expect(err).NotTo(HaveOccurred())
		stale := getSecret(t, key)
		_, err = WriteSecret(ctx, k8s, stale, Secret{Key: key, Data: map[string][]byte{"k": []byte("1")}})
		g.Expect(err).NotTo(HaveOccurred())

		_, err = WriteSecret(ctx, k8s, stale, Secret{Key: key, Type: "scopegate.dev/test", ReplaceOtherType: true})
		g.Expect(apierrors.IsConflict(err)).To(BeTrue(), "error %v", err)
		g.Expect(getSecret(t, key).UID).To(Equal(stale.UID))
	})

	t.Run("Mutate sees the current Secret, can remove keys, and its error writes nothing", func(t *testing.T) {
		g := NewWithT(t)
		key := types.NamespacedName{Namespace: ns, Name: "mutated"}
		_, err := WriteSecret(ctx, k8s, nil, Secret{Key: key, Data: map[string][]byte{"a": []byte("1"), "b": []byte("2")}})
		g.Expect(err).NotTo(HaveOccurred())

		boom := errors.New("no randomness")
		c := &counting{Client: k8s}
		_, err = WriteSecret(ctx, c, getSecret(t, key), Secret{Key: key, Mutate: func(s *corev1.Secret) error {
			delete(s.Data, "a")
			return boom
		}})
		g.Expect(err).To(BeIdenticalTo(boom))
		g.Expect(c.writes.Load()).To(BeZero())

		res, err := WriteSecret(ctx, k8s, getSecret(t, key), Secret{Key: key, Mutate: func(s *corev1.Secret) error {
			g.Expect(s.Data).To(HaveKey("a"))
			delete(s.Data, "a")
			return nil
		}})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res).To(Equal(Updated))
		g.Expect(getSecret(t, key).Data).To(Equal(map[string][]byte{"b": []byte("2")}))
	})

	t.Run("A Secret controlled by another owner is not taken over", func(t *testing.T) {
		g := NewWithT(t)
		key := types.NamespacedName{Namespace: ns, Name: "controlled-elsewhere"}
		other := &Owner{Object: newOwner(t, ns, "other"), Scheme: testenv.Scheme(), Controller: true}
		_, err := WriteSecret(ctx, k8s, nil, Secret{Key: key, Owner: other})
		g.Expect(err).NotTo(HaveOccurred())

		c := &counting{Client: k8s}
		_, err = WriteSecret(ctx, c, getSecret(t, key), Secret{Key: key, Owner: controlled, Data: map[string][]byte{"k": []byte("v")}})
		g.Expect(err).To(MatchError(ContainSubstring("own Secret " + key.String())))
		g.Expect(c.writes.Load()).To(BeZero())
	})
}
