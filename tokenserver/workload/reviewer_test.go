package workload

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scopegate/scopegate/internal/testenv"
)

const issuer = "https://scopegate.test"

var k8s client.Client

func TestMain(m *testing.M) {
	testenv.Main(m, func(_ *rest.Config, c client.Client) { k8s = c })
}

// countingClient counts the TokenReviews created.
type countingClient struct {
	client.Client
	reviews atomic.Int32
	fail    atomic.Bool
}

func (c *countingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if _, ok := obj.(*authenticationv1.TokenReview); ok {
		c.reviews.Add(1)
		if c.fail.Load() {
			return errors.New("connection refused")
		}
	}
	return c.Client.Create(ctx, obj, opts...)
}

// newServiceAccount creates a namespace holding a ServiceAccount.
func newServiceAccount(t *testing.T, name string) *corev1.ServiceAccount {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "workload-"}}
	if err := k8s.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name}}
	if err := k8s.Create(t.Context(), sa); err != nil {
		t.Fatal(err)
	}
	return sa
}

// projectedToken asks the API server for a token of sa (the TokenRequest
// API, as the kubelet does for a projected volume).
func projectedToken(t *testing.T, sa *corev1.ServiceAccount, audience string, seconds int64) string {
	t.Helper()
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences: []string{audience}, ExpirationSeconds: ptr.To(seconds),
	}}
	if err := k8s.SubResource("token").Create(t.Context(), sa, tr); err != nil {
		t.Fatalf("request a token for %s/%s: %v", sa.Namespace, sa.Name, err)
	}
	return tr.Status.Token
}

func newReviewer(t *testing.T, clock *testingclock.FakeClock) (*Reviewer, *countingClient) {
	t.Helper()
	cc := &countingClient{Client: k8s}
	r, err := NewReviewer(Options{Client: cc, Audiences: []string{issuer, issuer + "/oauth/token"}, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return r, cc
}

func TestAProjectedTokenAuthenticatesItsServiceAccount(t *testing.T) {
	clock := testingclock.NewFakeClock(time.Now())
	r, _ := newReviewer(t, clock)
	sa := newServiceAccount(t, "agent")
	for _, aud := range []string{issuer, issuer + "/oauth/token"} {
		id, err := r.Authenticate(t.Context(), projectedToken(t, sa, aud, 600))
		if err != nil {
			t.Fatalf("audience %s: %v", aud, err)
		}
		if id.Namespace != sa.Namespace || id.Name != "agent" || id.Username() != "system:serviceaccount:"+sa.Namespace+":agent" {
			t.Errorf("identity %+v", id)
		}
		if d := time.Until(id.ExpiresAt); d < 9*time.Minute || d > 11*time.Minute {
			t.Errorf("expiry in %s, want about 10m", d)
		}
	}
}

func TestRefusedTokens(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodES256, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := []struct {
		name  string
		token func(t *testing.T, sa *corev1.ServiceAccount) string
	}{
		{"a token for another audience", func(t *testing.T, sa *corev1.ServiceAccount) string {
			return projectedToken(t, sa, "https://elsewhere.test", 600)
		}},
		{"a token signed by a foreign issuer with a ServiceAccount's claims", func(t *testing.T, sa *corev1.ServiceAccount) string {
			return sign(jwt.MapClaims{"iss": "https://evil.test", "sub": "system:serviceaccount:" + sa.Namespace + ":" + sa.Name,
				"aud": []string{issuer}, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
		}},
		{"a legacy token that never expires", func(t *testing.T, sa *corev1.ServiceAccount) string {
			return sign(jwt.MapClaims{"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:" + sa.Namespace + ":" + sa.Name, "aud": []string{issuer},
				"kubernetes.io/serviceaccount/namespace": sa.Namespace, "kubernetes.io/serviceaccount/service-account.name": sa.Name})
		}},
		{"a token of a deleted ServiceAccount", func(t *testing.T, sa *corev1.ServiceAccount) string {
			tok := projectedToken(t, sa, issuer, 600)
			if err := k8s.Delete(t.Context(), sa); err != nil {
				t.Fatal(err)
			}
			waitUntilTheAPIServerRefuses(t, tok)
			return tok
		}},
		{"not a JWT", func(*testing.T, *corev1.ServiceAccount) string { return "not-a-token" }},
	}
	for _, tc := range cases {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			clock := testingclock.NewFakeClock(time.Now())
			r, _ := newReviewer(t, clock)
			_, err := r.Authenticate(t.Context(), tc.token(t, newServiceAccount(t, "agent")))
			if !errors.Is(err, ErrNotAuthenticated) {
				t.Fatalf("err %v, want ErrNotAuthenticated", err)
			}
		})
	}
}

// waitUntilTheAPIServerRefuses waits until kube-apiserver's own
// TokenReview refuses tok. It looks ServiceAccounts up in its informers'
// cache, so a token of a ServiceAccount deleted a moment ago may still
// authenticate there for a few milliseconds; what the Reviewer is tested
// for is how it answers once the API server refuses.
func waitUntilTheAPIServerRefuses(t *testing.T, tok string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		tr := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: tok, Audiences: []string{issuer}}}
		if err := k8s.Create(t.Context(), tr); err != nil {
			t.Fatal(err)
		}
		if !tr.Status.Authenticated {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("kube-apiserver still authenticates the token 30 s after its ServiceAccount was deleted")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestReviewsAreCachedForAMinuteAtMost(t *testing.T) {
	clock := testingclock.NewFakeClock(time.Now())
	r, cc := newReviewer(t, clock)
	sa := newServiceAccount(t, "agent")
	tok := projectedToken(t, sa, issuer, 600)
	for range 3 {
		if _, err := r.Authenticate(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := cc.reviews.Load(); n != 1 {
		t.Fatalf("%d reviews for three uses within the cache window, want 1", n)
	}

	t.Log("within the window the cached answer holds even while the API server cannot answer")
	cc.fail.Store(true)
	clock.Step(59 * time.Second)
	if _, err := r.Authenticate(t.Context(), tok); err != nil {
		t.Fatalf("a cached review failed: %v", err)
	}
	t.Log("after it, an unreachable API server is ErrUnavailable, not a refusal")
	clock.Step(2 * time.Second)
	if _, err := r.Authenticate(t.Context(), tok); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err %v, want ErrUnavailable", err)
	}
	cc.fail.Store(false)

	t.Log("a ServiceAccount deleted after the window is refused at the next review")
	if err := k8s.Delete(t.Context(), sa); err != nil {
		t.Fatal(err)
	}
	// The API server caches successful token authentications for about
	// 10 s of real time itself; each try steps past this cache's window.
	deadline := time.Now().Add(30 * time.Second)
	for {
		clock.Step(61 * time.Second)
		_, err := r.Authenticate(t.Context(), tok)
		if errors.Is(err, ErrNotAuthenticated) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("err %v, want ErrNotAuthenticated", err)
		}
		time.Sleep(time.Second)
	}
}

func TestACachedReviewEndsWithTheTokensExpiry(t *testing.T) {
	clock := testingclock.NewFakeClock(time.Now())
	r, _ := newReviewer(t, clock)
	tok := projectedToken(t, newServiceAccount(t, "agent"), issuer, 600)
	id, err := r.Authenticate(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	clock.SetTime(id.ExpiresAt)
	if _, err := r.Authenticate(t.Context(), tok); !errors.Is(err, ErrNotAuthenticated) {
		t.Fatalf("an expired token: err %v, want ErrNotAuthenticated", err)
	}
}

func TestParseServiceAccount(t *testing.T) {
	for user, ok := range map[string]bool{
		"system:serviceaccount:team-a:agent": true,
		"system:serviceaccount:team-a":       false,
		"system:serviceaccount::agent":       false,
		"system:serviceaccount:a:b:c":        false,
		"alice":                              false,
		"system:node:worker-1":               false,
	} {
		if _, _, got := parseServiceAccount(user); got != ok {
			t.Errorf("parseServiceAccount(%q) ok=%v, want %v", user, got, ok)
		}
	}
}
