package oauthclient

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/tokenserver"
)

// serviceAccountToken creates the ServiceAccount ns/name if needed and asks
// the API server for a projected token of it (the TokenRequest API, as the
// kubelet does) for audience.
func serviceAccountToken(ns, name, audience string) string {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := k8s.Create(ctx, sa); err != nil {
		ExpectWithOffset(1, k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sa)).To(Succeed())
	}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: []string{audience}, ExpirationSeconds: ptr.To[int64](600)}}
	ExpectWithOffset(1, k8s.SubResource("token").Create(ctx, sa, tr)).To(Succeed())
	return tr.Status.Token
}

// postToken sends a form to the token endpoint of the running manager.
func postToken(form url.Values) (int, map[string]any) {
	req := httptest.NewRequest(http.MethodPost, tokenserver.PathToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	mgr.server.Handler().ServeHTTP(rec, req)
	body := map[string]any{}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec.Code, body
}

func assertionForm(token string, kv ...string) url.Values {
	f := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {tokenserver.ClientAssertionTypeJWT}, "client_assertion": {token}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

func secretless(sas ...string) func(*scopegatev1alpha1.OAuthClient) {
	return func(c *scopegatev1alpha1.OAuthClient) {
		c.Spec.ClientAuthentication = scopegatev1alpha1.ClientAuthenticationServiceAccountToken
		c.Spec.GrantTypes = []scopegatev1alpha1.GrantType{scopegatev1alpha1.GrantTypeClientCredentials, scopegatev1alpha1.GrantTypeTokenExchange}
		for _, sa := range sas {
			c.Spec.ServiceAccounts = append(c.Spec.ServiceAccounts, scopegatev1alpha1.ServiceAccountRef{Name: sa})
		}
	}
}

var _ = Describe("Secretless OAuthClients (ServiceAccount tokens)", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("writes credentials without a client secret, keeps a token Secret, and lets a bound ServiceAccount's token authenticate", func() {
		createClient(ns, "agent", secretless("agent"))
		c := waitRevision(ns, "agent", 1)
		Expect(condition(c, scopegatev1alpha1.ConditionServiceAccountsBound).Status).To(Equal(metav1.ConditionTrue))

		creds := getSecret(ns, "agent-credentials")
		Expect(creds.Data).To(HaveKeyWithValue(KeyClientID, []byte(ns+".agent")))
		Expect(creds.Data).To(HaveKey(KeyTokenURL))
		Expect(creds.Data).NotTo(HaveKey(KeyClientSecret))
		Expect(creds.Annotations).NotTo(HaveKey(scopegatev1alpha1.AnnotationSecretDigest))
		By("the controller still keeps a token Secret for pods that mount one")
		verifyWithJWKS(string(getSecret(ns, "agent-token").Data[KeyAccessToken]))

		By("a client assertion with the ServiceAccount's projected token gets exactly the granted scopes")
		tok := serviceAccountToken(ns, "agent", suiteIssuer)
		var body map[string]any
		Eventually(func() int {
			var code int
			code, body = postToken(assertionForm(tok, "scope", "mcp admin"))
			return code
		}).Should(Equal(http.StatusOK))
		Expect(body["scope"]).To(Equal("mcp"))
		claims := verifyWithJWKS(body["access_token"].(string))
		Expect(claims.ClientID).To(Equal(ns + ".agent"))
		Expect(claims.ServiceAccount).To(Equal("system:serviceaccount:" + ns + ":agent"))

		By("the token_url is an accepted audience too, and a matching client_id")
		code, _ := postToken(assertionForm(serviceAccountToken(ns, "agent", suiteIssuer+tokenserver.PathToken), "scope", "mcp", "client_id", ns+".agent"))
		Expect(code).To(Equal(http.StatusOK))

		By("token exchange returns the requested scopes and issued_token_type")
		code, body = postToken(url.Values{"grant_type": {tokenserver.GrantTokenExchange}, "subject_token": {tok},
			"subject_token_type": {tokenserver.TokenTypeJWT}, "scope": {"mcp:github:read"}, "audience": {"mcp"}})
		Expect(code).To(Equal(http.StatusOK), "%v", body)
		Expect(body["issued_token_type"]).To(Equal(tokenserver.TokenTypeAccessToken))
		Expect(body["scope"]).To(Equal("mcp:github:read"))
		claims = verifyWithJWKS(body["access_token"].(string))
		Expect(claims.Audience).To(ConsistOf("mcp"))
		Expect(claims.ServiceAccount).To(Equal("system:serviceaccount:" + ns + ":agent"))
	})

	It("refuses tokens of unbound ServiceAccounts, other namespaces, other audiences, a mismatched client_id and a suspended client with invalid_client", func() {
		other := newNamespace()
		createClient(ns, "agent", secretless("agent"))
		waitRevision(ns, "agent", 1)
		good := serviceAccountToken(ns, "agent", suiteIssuer)
		Eventually(func() int { code, _ := postToken(assertionForm(good, "scope", "mcp")); return code }).Should(Equal(http.StatusOK))

		for what, form := range map[string]url.Values{
			"an unbound ServiceAccount":                      assertionForm(serviceAccountToken(ns, "stranger", suiteIssuer), "scope", "mcp"),
			"the same name in another namespace":             assertionForm(serviceAccountToken(other, "agent", suiteIssuer), "scope", "mcp"),
			"a token for another audience":                   assertionForm(serviceAccountToken(ns, "agent", "https://elsewhere.test"), "scope", "mcp"),
			"a client_id of another client":                  assertionForm(good, "scope", "mcp", "client_id", ns+".someone"),
			"a token that is not a ServiceAccount token JWT": assertionForm("not-a-jwt", "scope", "mcp"),
		} {
			code, body := postToken(form)
			Expect(code).To(Equal(http.StatusUnauthorized), what)
			Expect(body["error"]).To(Equal("invalid_client"), what)
		}

		By("suspension")
		updateClient(ns, "agent", func(c *scopegatev1alpha1.OAuthClient) { c.Spec.Suspended = true })
		Eventually(func() any { _, body := postToken(assertionForm(good, "scope", "mcp")); return body["error"] }).Should(Equal("invalid_client"))
	})

	It("lets one client hold a ServiceAccount: a second claim is not Ready, naming the holder, until the holder lets go", func() {
		createClient(ns, "first", secretless("shared"))
		waitRevision(ns, "first", 1)
		createClient(ns, "second", secretless("shared", "own"))
		Eventually(func(g Gomega) {
			c := getClient(ns, "second")
			bound := condition(c, scopegatev1alpha1.ConditionServiceAccountsBound)
			g.Expect(bound).NotTo(BeNil())
			g.Expect(bound.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(bound.Reason).To(Equal(scopegatev1alpha1.ReasonServiceAccountConflict))
			g.Expect(bound.Message).To(ContainSubstring("ServiceAccount shared is bound to OAuthClient first"))
			ready := condition(c, scopegatev1alpha1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(scopegatev1alpha1.ReasonServiceAccountConflict))
		}).Should(Succeed())
		shared := serviceAccountToken(ns, "shared", suiteIssuer)
		Eventually(func() any { _, b := postToken(assertionForm(shared, "scope", "mcp")); return b["access_token"] }).ShouldNot(BeNil())
		_, body := postToken(assertionForm(shared, "scope", "mcp"))
		Expect(verifyWithJWKS(body["access_token"].(string)).ClientID).To(Equal(ns + ".first"))
		By("the second client's uncontested ServiceAccount works for it")
		_, body = postToken(assertionForm(serviceAccountToken(ns, "own", suiteIssuer), "scope", "mcp"))
		Expect(verifyWithJWKS(body["access_token"].(string)).ClientID).To(Equal(ns + ".second"))

		By("when the holder drops the ServiceAccount, the second client holds it and is Ready")
		updateClient(ns, "first", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.ServiceAccounts = []scopegatev1alpha1.ServiceAccountRef{{Name: "elsewhere"}}
		})
		Eventually(func(g Gomega) {
			c := getClient(ns, "second")
			g.Expect(meta.IsStatusConditionTrue(c.Status.Conditions, scopegatev1alpha1.ConditionReady)).To(BeTrue(), "%+v", c.Status.Conditions)
		}).Should(Succeed())
		Eventually(func() string {
			_, b := postToken(assertionForm(shared, "scope", "mcp"))
			raw, _ := b["access_token"].(string)
			if raw == "" {
				return ""
			}
			return verifyWithJWKS(raw).ClientID
		}).Should(Equal(ns + ".second"))
	})

	It("removes the client secret and forgets its digest on a switch to serviceAccountToken, and issues a new one on the way back", func() {
		createClient(ns, "switcher", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.ServiceAccounts = []scopegatev1alpha1.ServiceAccountRef{{Name: "switcher"}}
		})
		waitRevision(ns, "switcher", 1)
		id, oldSecret := credentials(ns, "switcher")
		Eventually(func() int { rec, _ := requestToken(id, oldSecret, "mcp"); return rec.Code }).Should(Equal(http.StatusOK))
		By("with clientAuthentication secret, a bound ServiceAccount authenticates as well")
		sa := serviceAccountToken(ns, "switcher", suiteIssuer)
		code, _ := postToken(assertionForm(sa, "scope", "mcp"))
		Expect(code).To(Equal(http.StatusOK))

		updateClient(ns, "switcher", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.ClientAuthentication = scopegatev1alpha1.ClientAuthenticationServiceAccountToken
		})
		Eventually(func(g Gomega) {
			s := getSecret(ns, "switcher-credentials")
			g.Expect(s.Data).NotTo(HaveKey(KeyClientSecret))
			g.Expect(s.Annotations).NotTo(HaveKey(scopegatev1alpha1.AnnotationSecretDigest))
		}).Should(Succeed())
		Eventually(func() int { rec, _ := requestToken(id, oldSecret, "mcp"); return rec.Code }).Should(Equal(http.StatusUnauthorized))
		code, _ = postToken(assertionForm(sa, "scope", "mcp"))
		Expect(code).To(Equal(http.StatusOK))
		Eventually(func() []string { return eventReasons(ns, "switcher") }).Should(ContainElement("Normal/ClientSecretRemoved"))

		By("back to secret: a new secret, not the old one")
		updateClient(ns, "switcher", func(c *scopegatev1alpha1.OAuthClient) {
			c.Spec.ClientAuthentication = scopegatev1alpha1.ClientAuthenticationSecret
		})
		var newSecret string
		Eventually(func(g Gomega) {
			s := getSecret(ns, "switcher-credentials")
			newSecret = string(s.Data[KeyClientSecret])
			g.Expect(newSecret).To(MatchRegexp(`^[A-Za-z0-9_-]{43,}$`))
		}).Should(Succeed())
		Expect(newSecret).NotTo(Equal(oldSecret))
		Eventually(func() int { rec, _ := requestToken(id, newSecret, "mcp"); return rec.Code }).WithTimeout(10 * time.Second).Should(Equal(http.StatusOK))
		rec, _ := requestToken(id, oldSecret, "mcp")
		Expect(rec.Code).To(Equal(http.StatusUnauthorized))
	})
})
