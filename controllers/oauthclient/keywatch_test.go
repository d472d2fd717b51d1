package oauthclient

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/tokenserver/keys"
)

func TestTokenKeyID(t *testing.T) {
	tok := signToken(t, "kid-1", "team-a.c", []string{"mcp"}, []string{"mcp"}, time.Now(), time.Hour)
	cases := []struct {
		name string
		raw  string
		want string
	}{
		{"The kid of a signed token is read from its header", tok.Raw, "kid-1"},
		{"A value that is not a JWS has no kid", "not-a-jwt", ""},
		{"A header that is not base64url has no kid", "%%%.e30.", ""},
		{"A header that is not JSON has no kid", "bm90LWpzb24.e30.", ""},
		{"A header without kid has none", "eyJhbGciOiJub25lIn0.e30.", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := tokenKeyID([]byte(c.raw)); got != c.want {
				t.Fatalf("tokenKeyID = %q, want %q", got, c.want)
			}
		})
	}
}

var _ = Describe("Signing-key retirement", func() {
	It("re-issues the token Secret with the new key once the key that signed it retires, with nothing else waking the controller", func() {
		ns := newNamespace()
		// A key ring, clock and manager of this spec's own, limited to its
		// namespace, so that rotating keys disturbs no other spec.
		localClock := clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
		localRing, err := keys.NewMemoryRing(keys.Policy{}, localClock.Now)
		Expect(err).NotTo(HaveOccurred())
		mgr.stop()
		mgr = startManagerWith(managerConfig{clock: localClock, ring: localRing, namespaces: []string{ns}})
		DeferCleanup(func() {
			Expect(k8s.Delete(ctx, getClient(ns, "rekeyed"))).To(Succeed())
			mgr.stop()
			mgr = startManager()
		})

		createClient(ns, "rekeyed", nil)
		first := waitRevision(ns, "rekeyed", 1)
		oldToken := string(getSecret(ns, "rekeyed-token").Data[KeyAccessToken])
		oldKey, err := localRing.Signing()
		Expect(err).NotTo(HaveOccurred())
		Expect(tokenKeyID([]byte(oldToken))).To(Equal(oldKey.ID))

		By("an on-demand rotation publishes a key that signs a minute later")
		next, err := keys.RotateNow(localRing.Snapshot(), localClock.Now(), localClock.Now().Add(time.Minute), keys.Generate)
		Expect(err).NotTo(HaveOccurred())
		localRing.Load(next)
		Expect(localRing.KeyRetired(oldKey.ID)).To(BeFalse())

		By("once the new key signs, the old one is retired and the token is re-issued long before its renewal time")
		Eventually(localClock.HasWaiters).Should(BeTrue(), "the retirement watch waits on the clock")
		localClock.Step(time.Minute + DefaultKeyCheckInterval)
		Expect(localClock.Now()).To(BeTemporally("<", first.Status.Token.RenewalTime.Time))
		renewed := waitRevision(ns, "rekeyed", 2)
		newToken := string(getSecret(ns, "rekeyed-token").Data[KeyAccessToken])
		newKey, err := localRing.Signing()
		Expect(err).NotTo(HaveOccurred())
		Expect(newKey.ID).NotTo(Equal(oldKey.ID))
		Expect(tokenKeyID([]byte(newToken))).To(Equal(newKey.ID))
		Expect(renewed.Status.Token.NotBefore.Time).To(Equal(localClock.Now()))
		Expect(getSecret(ns, "rekeyed-token").Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationRevision, "2"))
		verifyWithJWKS(newToken)
		By("the old token still verifies while its key stays published")
		verifyWithJWKS(oldToken)

		Eventually(func() []string {
			var notes []string
			for _, e := range eventsFor(ns, "rekeyed") {
				notes = append(notes, e.Note)
			}
			return notes
		}).Should(ContainElement(And(ContainSubstring("revision 2"), ContainSubstring(scopegatev1alpha1.ReasonSigningKeyRetired))))
		for _, e := range eventsFor(ns, "rekeyed") {
			Expect(strings.Contains(e.Note, newToken) || strings.Contains(e.Note, oldToken)).To(BeFalse())
		}
	})
})
