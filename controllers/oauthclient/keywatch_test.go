package oauthclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/accesstoken"
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

	Describe("on a replica whose signing keys are not loaded yet", func() {
		var (
			ns         string
			localClock *clocktesting.FakeClock
			loaded     *keys.Ring
			token      string
		)
		BeforeEach(func() {
			ns = newNamespace()
			localClock = clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
			var err error
			loaded, err = keys.NewMemoryRing(keys.Policy{}, localClock.Now)
			Expect(err).NotTo(HaveOccurred())
			mgr.stop()
			mgr = startManagerWith(managerConfig{clock: localClock, ring: loaded, namespaces: []string{ns}})
			DeferCleanup(func() {
				Expect(k8s.Delete(ctx, getClient(ns, "restarted"))).To(Succeed())
				mgr.stop()
				mgr = startManager()
			})
			createClient(ns, "restarted", nil)
			waitRevision(ns, "restarted", 1)
			token = string(getSecret(ns, "restarted-token").Data[KeyAccessToken])
			mgr.stop()
		})

		// restartedWith starts a manager whose ring is still empty, as a
		// replica's is until its loader has read the signing-keys Secret.
		restartedWith := func(wrap func(accesstoken.Issuer, *keys.Ring) accesstoken.Issuer) *keys.Ring {
			empty := keys.NewRing(keys.Policy{}, localClock.Now)
			mc := managerConfig{clock: localClock, ring: empty, namespaces: []string{ns}}
			if wrap != nil {
				mc.wrapIssuer = func(inner accesstoken.Issuer) accesstoken.Issuer { return wrap(inner, empty) }
			}
			mgr = startManagerWith(mc)
			return empty
		}
		keptToken := func() {
			Eventually(func() float64 {
				v, _ := gauge(mgr.metrics, "scopegate_oauthclient_ready", ns, "restarted")
				return v
			}).Should(Equal(1.0), "the restarted manager finds the client ready")
			s := getSecret(ns, "restarted-token")
			Expect(string(s.Data[KeyAccessToken])).To(Equal(token))
			Expect(s.Annotations).To(HaveKeyWithValue(scopegatev1alpha1.AnnotationRevision, "1"))
			Eventually(func(g Gomega) {
				c := getClient(ns, "restarted")
				g.Expect(c.Status.Token.Revision).To(Equal(int64(1)))
				g.Expect(c.Status.FailedIssuanceAttempts).To(BeZero())
			}).Should(Succeed())
			Expect(eventReasons(ns, "restarted")).NotTo(ContainElement("Warning/" + scopegatev1alpha1.ReasonIssuanceFailed))
		}

		It("keeps the token and reports no failure while no key can sign", func() {
			empty := restartedWith(nil)
			keptToken()
			By("once the keys are loaded the token is still kept")
			empty.Load(loaded.Snapshot())
			poke(ns, "restarted")
			keptToken()
		})

		It("keeps the token when the keys are loaded between the check and the signing", func() {
			restartedWith(func(inner accesstoken.Issuer, empty *keys.Ring) accesstoken.Issuer {
				return issuerFunc(func(ctx context.Context, req accesstoken.IssueRequest) (*accesstoken.IssuedToken, error) {
					empty.Load(loaded.Snapshot())
					return inner.Issue(ctx, req)
				})
			})
			keptToken()
		})
	})
})

// issuerFunc is an accesstoken.Issuer made of a function.
type issuerFunc func(context.Context, accesstoken.IssueRequest) (*accesstoken.IssuedToken, error)

func (f issuerFunc) Issue(ctx context.Context, req accesstoken.IssueRequest) (*accesstoken.IssuedToken, error) {
	return f(ctx, req)
}

func TestKeepForKey(t *testing.T) {
	current := &storedToken{KeyID: "k1"}
	cases := []struct {
		name   string
		issued *accesstoken.IssuedToken
		err    error
		want   bool
	}{
		{"A token signed by a new key replaces the old one", &accesstoken.IssuedToken{KeyID: "k2"}, nil, false},
		{"A token signed by the same key shows it was not retired", &accesstoken.IssuedToken{KeyID: "k1"}, nil, true},
		{"No signing key loaded yet keeps the old token", nil, fmt.Errorf("issue token for c: %w", keys.ErrNoKey), true},
		{"Any other failure is a failure", nil, errors.New("boom"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := keepForKey(current, c.issued, c.err); got != c.want {
				t.Fatalf("keepForKey = %v, want %v", got, c.want)
			}
		})
	}
}

// countingReader answers List with fixed token Secrets and counts the calls.
type countingReader struct {
	client.Reader
	items []corev1.Secret
	lists int
}

func (r *countingReader) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	r.lists++
	list.(*corev1.SecretList).Items = r.items
	return nil
}

func TestKeyRetirementWatchListsOnlyWhenALiveKeyRetires(t *testing.T) {
	tok := signToken(t, "k1", "team-a.c", []string{"mcp"}, []string{"mcp"}, time.Now(), time.Hour)
	owner := metav1.OwnerReference{APIVersion: scopegatev1alpha1.GroupVersion.String(), Kind: "OAuthClient", Name: "c", UID: "c-uid", Controller: ptr.To(true)}
	reader := &countingReader{items: []corev1.Secret{{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "c-token", UID: "s-uid", ResourceVersion: "1", OwnerReferences: []metav1.OwnerReference{owner}},
		Type:       scopegatev1alpha1.SecretTypeAccessToken,
		Data:       map[string][]byte{KeyAccessToken: []byte(tok.Raw)},
	}}}
	retired := staticKeys{}
	w := newKeyRetirementWatch(reader, &Options{Keys: retired, KeyCheckInterval: time.Second}, logr.Discard())
	w.events = make(chan event.GenericEvent, 4)
	ctx := context.Background()

	w.check(ctx)
	if reader.lists != 1 || len(w.events) != 0 {
		t.Fatalf("first check: %d lists, %d wake-ups; want 1 and 0", reader.lists, len(w.events))
	}
	for range 5 {
		w.check(ctx)
	}
	if reader.lists != 1 {
		t.Fatalf("while k1 signs, %d lists; want the first only", reader.lists)
	}
	retired["k1"] = true
	w.check(ctx)
	if reader.lists != 2 || len(w.events) != 1 {
		t.Fatalf("after k1 retired: %d lists, %d wake-ups; want 2 and 1", reader.lists, len(w.events))
	}
	if got := (<-w.events).Object.GetName(); got != "c" {
		t.Fatalf("woke %q, want the owner c", got)
	}
	// No live kid is left: every check lists (and reports nothing twice).
	w.check(ctx)
	if reader.lists != 3 || len(w.events) != 0 {
		t.Fatalf("with no live kid: %d lists, %d wake-ups; want 3 and 0", reader.lists, len(w.events))
	}
	// A live kid again (the Secret re-issued): a full check still runs
	// every fullCheckEvery intervals.
	reader.items[0].ResourceVersion = "2"
	reader.items[0].Data[KeyAccessToken] = []byte(signToken(t, "k2", "team-a.c", []string{"mcp"}, []string{"mcp"}, time.Now(), time.Hour).Raw)
	w.check(ctx)
	before := reader.lists
	for range fullCheckEvery {
		w.check(ctx)
	}
	if reader.lists != before+1 {
		t.Fatalf("%d lists in %d checks while k2 signs; want 1", reader.lists-before, fullCheckEvery)
	}
}
