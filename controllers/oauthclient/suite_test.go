package oauthclient

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/testenv"
	"github.com/scopegate/scopegate/tokenserver"
	"github.com/scopegate/scopegate/tokenserver/keys"
	"github.com/scopegate/scopegate/tokenserver/revocation"
	"github.com/scopegate/scopegate/tokenserver/workload"
)

const (
	suiteIssuer     = "http://scopegate.test"
	suiteGatewayURL = "https://gateway.scopegate.test"
)

var (
	env *envtest.Environment
	cfg *rest.Config
	// adminCfg is the control plane's admin; cfg the managers' own user.
	adminCfg *rest.Config
	k8s      client.Client
	clk      *clocktesting.FakeClock
	ring     *keys.Ring
	// failing makes issuance fail for chosen client IDs.
	failing = &failingIssuance{ids: map[string]bool{}}
	// mgr is the running manager; a spec may replace it.
	mgr *harness
	// caBundle is the CA bundle the managers publish, as with TLS on.
	caBundle *fakeBundle
)

func TestOAuthClientController(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "OAuthClient controller")
}

var _ = BeforeSuite(func() {
	ctrl.SetLogger(GinkgoLogr)
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	var err error
	env, err = testenv.New()
	Expect(err).NotTo(HaveOccurred())
	// As on clusters that enforce it (OpenShift does): setting
	// blockOwnerDeletion on a child needs update on the owner's finalizers.
	env.ControlPlane.GetAPIServer().Configure().Append("enable-admission-plugins", "OwnerReferencesPermissionEnforcement")
	adminCfg, err = env.Start()
	Expect(err).NotTo(HaveOccurred())
	k8s, err = client.New(adminCfg, client.Options{Scheme: testenv.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	// The managers run with exactly the permissions of the generated role.
	cfg = managerUser(adminCfg)

	// One clock and one key ring for the whole suite: a restarted manager
	// reads the same keys, as replicas do from the signing-keys Secret.
	clk = clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
	ring, err = keys.NewMemoryRing(keys.Policy{}, clk.Now)
	Expect(err).NotTo(HaveOccurred())
	caBundle = newFakeBundle("bundle-1")
	mgr = startManager()
})

var _ = AfterSuite(func() {
	if mgr != nil {
		mgr.stop()
	}
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

// managerUser binds the generated ClusterRole (config/rbac/role.yaml) to a
// user of its own and returns that user's config.
func managerUser(admin *rest.Config) *rest.Config {
	root, err := testenv.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	raw, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{}
	Expect(yaml.Unmarshal(raw, role)).To(Succeed())
	Expect(role.Rules).NotTo(BeEmpty())
	Expect(k8s.Create(ctx, role)).To(Succeed())
	const user = "scopegate-manager"
	Expect(k8s.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	})).To(Succeed())
	u, err := env.AddUser(envtest.User{Name: user}, admin)
	Expect(err).NotTo(HaveOccurred())
	return u.Config()
}

// harness is one manager with its own registry, token server and metrics,
// as one replica has.
type harness struct {
	cancel   context.CancelFunc
	done     chan error
	registry *registry.Registry
	server   *tokenserver.Server
	metrics  *prometheus.Registry
	clock    *clocktesting.FakeClock
}

// managerConfig is what a harness's manager runs with.
type managerConfig struct {
	clock *clocktesting.FakeClock
	ring  *keys.Ring
	// namespaces restricts the manager to these namespaces; empty: all.
	namespaces []string
	// wrapIssuer, when set, wraps the issuer the controller uses.
	wrapIssuer func(accesstoken.Issuer) accesstoken.Issuer
}

// startManager starts a manager with the suite's clock and key ring.
func startManager() *harness { return startManagerWith(managerConfig{clock: clk, ring: ring}) }

func startManagerWith(mc managerConfig) *harness {
	h := &harness{registry: registry.New(), metrics: prometheus.NewRegistry(), done: make(chan error, 1), clock: mc.clock}
	metrics, err := NewMetrics(h.metrics)
	Expect(err).NotTo(HaveOccurred())

	cacheOpts := cache.Options{ByObject: map[client.Object]cache.ByObject{&corev1.Secret{}: SecretCacheOptions(), &corev1.ConfigMap{}: SecretCacheOptions()}}
	if len(mc.namespaces) > 0 {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range mc.namespaces {
			cacheOpts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	m, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 testenv.Scheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cacheOpts,
		// A restarted manager registers the same controller names again.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	// ServiceAccount tokens are reviewed with the manager's own
	// permissions, against the real TokenReview API; on the real clock,
	// since the API server's tokens expire in real time.
	workloads, err := workload.NewReviewer(workload.Options{
		Client: m.GetClient(), Audiences: []string{suiteIssuer, suiteIssuer + tokenserver.PathToken},
	})
	Expect(err).NotTo(HaveOccurred())
	h.server, err = tokenserver.New(tokenserver.Options{
		Issuer:      suiteIssuer,
		Registry:    h.registry,
		Keys:        mc.ring,
		Revocations: revocation.NewMemory(mc.clock.Now),
		Now:         mc.clock.Now,
		Workloads:   workloads,
	})
	Expect(err).NotTo(HaveOccurred())
	var tokens accesstoken.Issuer = &flakyIssuer{inner: h.server, failing: failing}
	if mc.wrapIssuer != nil {
		tokens = mc.wrapIssuer(tokens)
	}
	Expect(SetupWithManager(m, Options{
		Issuer:     suiteIssuer,
		GatewayURL: suiteGatewayURL,
		Registry:   h.registry,
		Tokens:     tokens,
		Keys:       h.server,
		Clock:      mc.clock,
		Metrics:    metrics,
		CABundle:   caBundle,
		// As with TLS on; the referenced CA bundles are read every half
		// second, so that a spec sees a replaced CA soon.
		AcceptsClientCertificates: true,
		ClientCARecheck:           500 * time.Millisecond,
	})).To(Succeed())

	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer GinkgoRecover()
		h.done <- m.Start(ctx)
	}()
	return h
}

func (h *harness) stop() {
	h.cancel()
	Eventually(h.done).WithTimeout(time.Minute).Should(Receive(BeNil()))
}

// failingIssuance is the set of client IDs whose issuance fails.
type failingIssuance struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (f *failingIssuance) set(id string, fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids[id] = fail
}

func (f *failingIssuance) has(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ids[id]
}

// flakyIssuer is the real token server, except for client IDs in failing.
type flakyIssuer struct {
	inner   accesstoken.Issuer
	failing *failingIssuance
}

func (f *flakyIssuer) Issue(ctx context.Context, req accesstoken.IssueRequest) (*accesstoken.IssuedToken, error) {
	if f.failing.has(req.ClientID) {
		return nil, errors.New("signing key unavailable (injected by the test)")
	}
	return f.inner.Issue(ctx, req)
}

// ---- helpers ----

var ctx = context.Background()

func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "oac-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// createClient creates an OAuthClient with scopes mcp and mcp:github:read
// and a token Secret, adjusted by mutate.
func createClient(ns, name string, mutate func(*scopegatev1alpha1.OAuthClient)) *scopegatev1alpha1.OAuthClient {
	c := &scopegatev1alpha1.OAuthClient{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: scopegatev1alpha1.OAuthClientSpec{
			Scopes:      []scopegatev1alpha1.Scope{"mcp", "mcp:github:read"},
			TokenSecret: &scopegatev1alpha1.TokenSecretSpec{Audiences: []scopegatev1alpha1.Audience{"mcp"}},
		},
	}
	if mutate != nil {
		mutate(c)
	}
	Expect(k8s.Create(ctx, c)).To(Succeed())
	return c
}

func getClient(ns, name string) *scopegatev1alpha1.OAuthClient {
	c := &scopegatev1alpha1.OAuthClient{}
	ExpectWithOffset(1, k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, c)).To(Succeed())
	return c
}

// updateClient applies mutate to the latest version of the client.
func updateClient(ns, name string, mutate func(*scopegatev1alpha1.OAuthClient)) {
	Eventually(func() error {
		c := &scopegatev1alpha1.OAuthClient{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, c); err != nil {
			return err
		}
		mutate(c)
		return k8s.Update(ctx, c)
	}).Should(Succeed())
}

func getSecret(ns, name string) *corev1.Secret {
	s := &corev1.Secret{}
	ExpectWithOffset(1, k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s)).To(Succeed())
	return s
}

// waitReady waits until the client is Ready and, with a token Secret, holds
// the given token revision; it returns the client.
func waitRevision(ns, name string, revision int64) *scopegatev1alpha1.OAuthClient {
	var c *scopegatev1alpha1.OAuthClient
	EventuallyWithOffset(1, func(g Gomega) {
		c = &scopegatev1alpha1.OAuthClient{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, c)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(c.Status.Conditions, scopegatev1alpha1.ConditionReady)).To(BeTrue(), "Ready: %+v", c.Status.Conditions)
		g.Expect(c.Status.Token).NotTo(BeNil())
		g.Expect(c.Status.Token.Revision).To(Equal(revision))
	}).Should(Succeed())
	return c
}

func condition(c *scopegatev1alpha1.OAuthClient, t string) *metav1.Condition {
	return meta.FindStatusCondition(c.Status.Conditions, t)
}

// credentials is the client's client_id and client_secret.
func credentials(ns, name string) (string, string) {
	s := getSecret(ns, name+"-credentials")
	return string(s.Data[KeyClientID]), string(s.Data[KeyClientSecret])
}

// requestToken asks the token endpoint for a token with HTTP Basic client
// authentication (RFC 6749 §2.3.1).
func requestToken(id, secret, scope string) (*httptest.ResponseRecorder, map[string]any) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	req := httptest.NewRequest(http.MethodPost, tokenserver.PathToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	rec := httptest.NewRecorder()
	mgr.server.Handler().ServeHTTP(rec, req)
	body := map[string]any{}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec, body
}

// introspect asks whether token is active (RFC 7662), authenticated as
// the client id/secret.
func introspect(id, secret, token string) bool {
	form := url.Values{"token": {token}}
	req := httptest.NewRequest(http.MethodPost, tokenserver.PathIntrospect, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	rec := httptest.NewRecorder()
	mgr.server.Handler().ServeHTTP(rec, req)
	ExpectWithOffset(1, rec.Code).To(Equal(http.StatusOK), rec.Body.String())
	var out struct {
		Active bool `json:"active"`
	}
	ExpectWithOffset(1, json.Unmarshal(rec.Body.Bytes(), &out)).To(Succeed())
	return out.Active
}

// verifyWithJWKS checks raw against the published JWKS (RFC 7517) the way
// a relying party would, and returns its claims.
func verifyWithJWKS(raw string) *accesstoken.Claims {
	rec := httptest.NewRecorder()
	mgr.server.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tokenserver.PathJWKS, nil))
	ExpectWithOffset(1, rec.Code).To(Equal(http.StatusOK))
	var set jose.JSONWebKeySet
	ExpectWithOffset(1, json.Unmarshal(rec.Body.Bytes(), &set)).To(Succeed())
	claims := &accesstoken.Claims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		for _, k := range set.Key(kid) {
			return k.Key, nil
		}
		return nil, errors.New("kid not in the JWKS")
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(suiteIssuer), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(mgr.clock.Now))
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return claims
}

// eventsFor are the events recorded about the object name in ns.
func eventsFor(ns, name string) []eventsv1.Event {
	list := &eventsv1.EventList{}
	ExpectWithOffset(1, k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out = append(out, e)
		}
	}
	return out
}

func eventReasons(ns, name string) []string {
	var out []string
	for _, e := range eventsFor(ns, name) {
		out = append(out, e.Type+"/"+e.Reason)
	}
	return out
}

// gauge is the value of the metric name for the client, and whether the
// series exists.
func gauge(reg *prometheus.Registry, name, ns, client string) (float64, bool) {
	families, err := reg.Gather()
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == ns && labels["name"] == client {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

// counter is the value of the counter name whose labels include kv
// (name, value pairs), summed over its series.
func counter(reg *prometheus.Registry, name string, kv ...string) float64 {
	families, err := reg.Gather()
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	total := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(kv); i += 2 {
				if labels[kv[i]] != kv[i+1] {
					continue series
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// poke makes the controller look at the client again without changing what
// it asks for.
func poke(ns, name string) {
	updateClient(ns, name, func(c *scopegatev1alpha1.OAuthClient) {
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations["test.scopegate.dev/poke"] = time.Now().Format(time.RFC3339Nano)
	})
}
