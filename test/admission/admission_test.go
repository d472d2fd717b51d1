package admission

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
)

// newNamespace creates a namespace unique to the calling spec.
func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "admission-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// decodeAll splits a multi-document YAML stream into objects.
func decodeAll(data []byte) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if err == io.EOF {
			return out
		}
		Expect(err).NotTo(HaveOccurred())
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// create applies one manifest in ns and returns the API server's error.
func create(ns, manifest string) error {
	u := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal([]byte(manifest), &u.Object)).To(Succeed())
	u.SetNamespace(ns)
	return k8s.Create(ctx, u)
}

const validClient = `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: ok}
spec:
  scopes: [mcp, "mcp:github:read"]
  accessTokenTTL: 1h
  tokenSecret:
    scopes: [mcp]
    duration: 1h
    renewBefore: 20m
    secretTemplate: {labels: {team: a, "example.com/owner": "x"}, annotations: {"example.com/note": "hello"}}
`

const validRoute = `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: ok}
spec:
  pathPrefix: /mcp/github
  protocol: MCP
  backend: {service: {name: github-mcp, port: 8080}, path: /mcp}
  requiredScopes: [mcp]
`

var _ = Describe("The CRDs", func() {
	It("accept every sample in config/samples", func() {
		ns := newNamespace()
		files, err := filepath.Glob(filepath.Join(rootDir, "config", "samples", "scopegate_*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).NotTo(BeEmpty())
		kinds := map[string]int{}
		for _, f := range files {
			data, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			for _, u := range decodeAll(data) {
				u.SetNamespace(ns)
				Expect(k8s.Create(ctx, u)).To(Succeed(), "sample %s %s/%s", filepath.Base(f), u.GetKind(), u.GetName())
				kinds[u.GetKind()]++
			}
		}
		Expect(kinds).To(HaveKey("OAuthClient"))
		Expect(kinds).To(HaveKey("GatewayRoute"))
	})

	It("fill in the documented defaults", func() {
		ns := newNamespace()
		Expect(create(ns, validRoute)).To(Succeed())
		Expect(create(ns, validClient)).To(Succeed())
		route := &unstructured.Unstructured{}
		route.SetAPIVersion("scopegate.dev/v1alpha1")
		route.SetKind("GatewayRoute")
		Expect(k8s.Get(ctx, key(ns, "ok"), route)).To(Succeed())
		match, _, _ := unstructured.NestedString(route.Object, "spec", "scopeMatch")
		Expect(match).To(Equal("Any"))
		path, _, _ := unstructured.NestedString(route.Object, "spec", "backend", "path")
		Expect(path).To(Equal("/mcp"))
		protocol, _, _ := unstructured.NestedString(route.Object, "spec", "protocol")
		Expect(protocol).To(Equal("MCP"))
		oac := &unstructured.Unstructured{}
		oac.SetAPIVersion("scopegate.dev/v1alpha1")
		oac.SetKind("OAuthClient")
		Expect(k8s.Get(ctx, key(ns, "ok"), oac)).To(Succeed())
		grants, _, _ := unstructured.NestedStringSlice(oac.Object, "spec", "grantTypes")
		Expect(grants).To(Equal([]string{"client_credentials"}))
		auth, _, _ := unstructured.NestedString(oac.Object, "spec", "clientAuthentication")
		Expect(auth).To(Equal("secret"))
	})

	It("accept an LLM route with two providers and an OAuthClient governing its models", func() {
		ns := newNamespace()
		Expect(create(ns, `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: llm}
spec:
  pathPrefix: /llm
  protocol: LLM
  backend: {url: "http://127.0.0.1:3001"}
  llm:
    providers:
    - {name: openai, format: OpenAI, apiKeySecretRef: {name: openai-key}}
    - {name: anthropic, format: Anthropic, backend: {url: "https://api.anthropic.com"}, apiKeySecretRef: {name: anthropic-key, key: key}}
    models:
    - {match: gpt-4o, provider: openai, upstreamModel: gpt-4o-2024-08-06}
    - {match: "claude-*", provider: anthropic}`)).To(Succeed())
		Expect(create(ns, `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: agent}
spec: {scopes: [service], llm: {allowedModels: ["gpt-4o*"], maxInputTokensPerCall: 8000, maxOutputTokensPerCall: 512, tokenQuota: {perMinute: 10000}}}`)).To(Succeed())
		route := &unstructured.Unstructured{}
		route.SetAPIVersion("scopegate.dev/v1alpha1")
		route.SetKind("GatewayRoute")
		Expect(k8s.Get(ctx, key(ns, "llm"), route)).To(Succeed())
		providers, _, _ := unstructured.NestedSlice(route.Object, "spec", "llm", "providers")
		Expect(providers).To(HaveLen(2))
		Expect(providers[0]).To(HaveKeyWithValue("apiKeySecretRef", HaveKeyWithValue("key", "apiKey")))
	})

	It("accept requireDPoP without a token Secret, and with one when it is false, tlsClientAuth, and tlsClientCertificate with each kind of subject", func() {
		ns := newNamespace()
		Expect(create(ns, `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: dpop}
spec: {scopes: [mcp], requireDPoP: true}`)).To(Succeed())
		Expect(create(ns, `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: mtls}
spec: {scopes: [mcp], tlsClientAuth: true}`)).To(Succeed())
		for name, spec := range map[string]string{
			"mtls-dn":    `{ca: {secretRef: {name: team-ca}}, subjectDN: "CN=reporter, O=Team A+OU=x\\, y, 2.5.4.6=DE"}`,
			"mtls-dns":   `{ca: {configMapRef: {name: team-ca, key: bundle.pem}}, sanDNS: "reporter.team-a.svc"}`,
			"mtls-uri":   `{ca: {configMapRef: {name: team-ca}}, sanURI: "spiffe://cluster.local/ns/a/sa/b"}`,
			"mtls-ip":    `{ca: {configMapRef: {name: team-ca}}, sanIP: "fd00::7"}`,
			"mtls-email": `{ca: {configMapRef: {name: team-ca}}, sanEmail: "reporter@team-a.example"}`,
		} {
			Expect(create(ns, `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: `+name+`}
spec: {scopes: [mcp], tlsClientAuth: false, tlsClientCertificate: `+spec+`}`)).To(Succeed(), name)
		}
		Expect(create(ns, `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bearer}
spec: {scopes: [mcp], requireDPoP: false, tokenSecret: {}}`)).To(Succeed())
		oac := &unstructured.Unstructured{}
		oac.SetAPIVersion("scopegate.dev/v1alpha1")
		oac.SetKind("OAuthClient")
		Expect(k8s.Get(ctx, key(ns, "dpop"), oac)).To(Succeed())
		required, _, _ := unstructured.NestedBool(oac.Object, "spec", "requireDPoP")
		Expect(required).To(BeTrue())
	})

	It("fill in the defaults of an MCP route's item rules", func() {
		ns := newNamespace()
		Expect(create(ns, `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: tools}
spec:
  pathPrefix: /mcp/tools
  protocol: MCP
  backend: {url: "http://127.0.0.1:3001"}
  requiredScopes: [mcp]
  mcp:
    rules:
    - tools: [delete_repo, "admin_*"]
      requiredScopes: ["mcp:github:write"]
      rateLimit: {requestsPerSecond: 2}
    - prompts: [summarise]
      resources: ["file:///reports/"]
`)).To(Succeed())
		route := &unstructured.Unstructured{}
		route.SetAPIVersion("scopegate.dev/v1alpha1")
		route.SetKind("GatewayRoute")
		Expect(k8s.Get(ctx, key(ns, "tools"), route)).To(Succeed())
		unlisted, _, _ := unstructured.NestedString(route.Object, "spec", "mcp", "unlisted")
		Expect(unlisted).To(Equal("RouteScopes"))
		mode, _, _ := unstructured.NestedString(route.Object, "spec", "mcp", "denialMode")
		Expect(mode).To(Equal("Challenge"))
		rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "mcp", "rules")
		Expect(rules).To(HaveLen(2))
		Expect(rules[0]).To(HaveKeyWithValue("scopeMatch", "Any"))

		Expect(create(ns, `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: agent}
spec:
  pathPrefix: /a2a/agent
  protocol: A2A
  backend: {url: "http://127.0.0.1:3001"}
  a2a:
    unlisted: Deny
    rules:
    - methods: [message/send, message/stream, tasks/get]
      requiredScopes: [a2a]
    - methods: ["tasks/pushNotificationConfig/*"]
      requiredScopes: ["a2a:agent:admin"]
      scopeMatch: All
    skills:
    - id: summarise
      requiredScopes: ["a2a:agent:read"]
    - id: delete-notes
      requiredScopes: ["a2a:agent:write", "a2a:agent:admin"]
      scopeMatch: All
`)).To(Succeed())
	})

	It("accept a GatewayRoute that requires DPoP-bound tokens", func() {
		ns := newNamespace()
		Expect(create(ns, `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: dpop}
spec: {pathPrefix: /x, requireDPoP: true, backend: {url: "http://127.0.0.1:3001"}}`)).To(Succeed())
		route := &unstructured.Unstructured{}
		route.SetAPIVersion("scopegate.dev/v1alpha1")
		route.SetKind("GatewayRoute")
		Expect(k8s.Get(ctx, key(ns, "dpop"), route)).To(Succeed())
		required, _, _ := unstructured.NestedBool(route.Object, "spec", "requireDPoP")
		Expect(required).To(BeTrue())
	})

	DescribeTable("refuse a bad manifest with a message naming the field",
		func(manifest string, wants ...string) {
			err := create(newNamespace(), manifest)
			Expect(err).To(HaveOccurred(), "the API server accepted an invalid manifest")
			for _, w := range wants {
				Expect(err.Error()).To(ContainSubstring(w))
			}
		},
		Entry("an OAuthClient without scopes", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {audiences: [mcp]}`, "spec.scopes", "Required value"),
		Entry("an OAuthClient with an empty scope list", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: []}`, "spec.scopes", "at least 1 item"),
		Entry("an OAuthClient with a malformed scope", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp, "Not A Scope"]}`, "spec.scopes[1]", "should match"),
		Entry("an OAuthClient with an empty scope string", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [""]}`, "spec.scopes[0]"),
		Entry("an OAuthClient with a scope longer than 128 characters", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: ["mcp:`+strings.Repeat("x", 130)+`"]}`, "spec.scopes[0]", "128"),
		Entry("an OAuthClient with a repeated scope", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp, mcp]}`, "spec.scopes[1]", "Duplicate value"),
		Entry("an OAuthClient whose tokenSecret.scopes are not a subset of scopes", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tokenSecret: {scopes: [admin]}}`, "spec.tokenSecret.scopes", "must be a subset of scopes"),
		Entry("an OAuthClient whose tokenSecret.audiences are outside audiences", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], audiences: [mcp], tokenSecret: {audiences: [api]}}`, "spec.tokenSecret.audiences", "must be a subset of audiences"),
		Entry("an OAuthClient with an accessTokenTTL under 60s", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], accessTokenTTL: 30s}`, "spec.accessTokenTTL", "between 60s and 24h"),
		Entry("an OAuthClient with an accessTokenTTL over 24h", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], accessTokenTTL: 25h}`, "spec.accessTokenTTL", "between 60s and 24h"),
		Entry("an OAuthClient with an accessTokenTTL that is not a duration", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], accessTokenTTL: soon}`, "spec.accessTokenTTL"),
		Entry("an OAuthClient with a tokenSecret.duration out of range", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tokenSecret: {duration: 10s}}`, "spec.tokenSecret.duration", "between 60s and 24h"),
		Entry("an OAuthClient whose renewBefore is not shorter than duration", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tokenSecret: {duration: 1h, renewBefore: 1h}}`, "spec.tokenSecret.renewBefore", "must be shorter than duration"),
		Entry("an OAuthClient whose renewBefore is not shorter than accessTokenTTL", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], accessTokenTTL: 10m, tokenSecret: {renewBefore: 15m}}`, "spec.tokenSecret.renewBefore", "shorter than the token lifetime"),
		Entry("a GatewayRoute under the admin API's prefix", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /admin/v1/clients, backend: {url: "http://127.0.0.1:1"}}`, "spec.pathPrefix", "must not be under /admin/v1"),
		Entry("an OAuthClient with a ServiceAccount name that is not a DNS subdomain", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], serviceAccounts: [{name: "Not_A_Name"}]}`, "spec.serviceAccounts[0].name", "lowercase DNS subdomain"),
		Entry("an OAuthClient naming more than 16 ServiceAccounts", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], serviceAccounts: [`+serviceAccountList(17)+`]}`, "spec.serviceAccounts", "must have at most 16 items"),
		Entry("an OAuthClient naming a ServiceAccount twice", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], serviceAccounts: [{name: a}, {name: a}]}`, "spec.serviceAccounts[1]", "Duplicate value"),
		Entry("a secretless OAuthClient without ServiceAccounts", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], clientAuthentication: serviceAccountToken}`, "spec.serviceAccounts", "needs at least one entry in serviceAccounts"),
		Entry("an OAuthClient allowed token exchange without ServiceAccounts", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], grantTypes: [client_credentials, "urn:ietf:params:oauth:grant-type:token-exchange"]}`, "spec.grantTypes", "token-exchange needs at least one entry in serviceAccounts"),
		Entry("an OAuthClient with an unknown clientAuthentication", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], clientAuthentication: mtls}`, "spec.clientAuthentication", "Unsupported value"),
		Entry("an OAuthClient with an unknown grant type", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], grantTypes: [password]}`, "spec.grantTypes[0]", "Unsupported value"),
		Entry("an OAuthClient whose token Secret is named like its credentials Secret", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tokenSecret: {name: bad-credentials}}`, "spec.tokenSecret.name", "must not have the credentials Secret's name"),
		Entry("an OAuthClient whose credentials Secret is named like its default token Secret", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], credentialsSecretName: bad-token, tokenSecret: {}}`, "spec.tokenSecret.name", "must not have the credentials Secret's name"),
		Entry("an OAuthClient whose secretTemplate sets a scopegate.dev annotation", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tokenSecret: {secretTemplate: {annotations: {"scopegate.dev/revision": "9"}}}}`, "spec.tokenSecret.secretTemplate.annotations", "must not set scopegate.dev/ keys"),
		Entry("an OAuthClient whose secretTemplate sets the managed-by label", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tokenSecret: {secretTemplate: {labels: {"app.kubernetes.io/managed-by": "me"}}}}`, "spec.tokenSecret.secretTemplate.labels", "app.kubernetes.io/managed-by"),
		Entry("an OAuthClient that requires DPoP and keeps a bearer token Secret", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], requireDPoP: true, tokenSecret: {}}`, "spec.requireDPoP", "cannot be combined with tokenSecret"),
		Entry("an OAuthClient whose requireDPoP is not a boolean", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], requireDPoP: "yes"}`, "spec.requireDPoP"),
		Entry("an OAuthClient with a zero rate", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], rateLimit: {requestsPerSecond: 0}}`, "spec.rateLimit.requestsPerSecond"),
		Entry("a GatewayRoute whose pathPrefix does not start with /", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: mcp/github, backend: {url: "http://127.0.0.1:3001"}}`, "spec.pathPrefix", "must start with '/'"),
		Entry("a GatewayRoute whose pathPrefix contains ..", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /mcp/../admin, backend: {url: "http://127.0.0.1:3001"}}`, "spec.pathPrefix", "must not contain '..'"),
		Entry("a GatewayRoute whose pathPrefix holds a query", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: "/mcp?x=1", backend: {url: "http://127.0.0.1:3001"}}`, "spec.pathPrefix"),
		Entry("a GatewayRoute with both backend.service and backend.url", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, backend: {url: "http://127.0.0.1:3001", service: {name: x, port: 80}}}`, "spec.backend", "exactly one of backend.service or backend.url"),
		Entry("a GatewayRoute with neither backend.service nor backend.url", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, backend: {path: /}}`, "spec.backend", "exactly one of backend.service or backend.url"),
		Entry("a GatewayRoute with a non-HTTP backend.url", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, backend: {url: "ftp://example"}}`, "spec.backend.url", "absolute http or https URL"),
		Entry("a GatewayRoute with an unknown protocol", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, protocol: GRPC, backend: {url: "http://127.0.0.1:3001"}}`, "spec.protocol", "Unsupported value"),
		Entry("a GatewayRoute with an unknown scopeMatch", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, scopeMatch: Most, backend: {url: "http://127.0.0.1:3001"}}`, "spec.scopeMatch", "Unsupported value"),
		Entry("a GatewayRoute with a malformed required scope", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, requiredScopes: ["MCP!"], backend: {url: "http://127.0.0.1:3001"}}`, "spec.requiredScopes[0]"),
		Entry("a GatewayRoute with a negative timeout", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, timeout: -5s, backend: {url: "http://127.0.0.1:3001"}}`, "spec.timeout"),
		Entry("a GatewayRoute with an out-of-range service port", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, backend: {service: {name: x, port: 70000}}}`, "spec.backend.service.port"),
		Entry("a GatewayRoute with mcp rules on an HTTP route", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, protocol: HTTP, backend: {url: "http://127.0.0.1:3001"}, mcp: {rules: [{tools: [echo]}]}}`, "spec.mcp", "mcp is allowed only on routes with protocol MCP"),
		Entry("a GatewayRoute with a2a rules on an MCP route", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, protocol: MCP, backend: {url: "http://127.0.0.1:3001"}, a2a: {rules: [{methods: [message/send]}]}}`, "spec.a2a", "a2a is allowed only on routes with protocol A2A"),
		Entry("a GatewayRoute with an MCP rule that names no item", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, protocol: MCP, backend: {url: "http://127.0.0.1:3001"}, mcp: {rules: [{requiredScopes: [mcp]}]}}`, "spec.mcp.rules[0]", "must name at least one of tools, prompts or resources"),
		Entry("a GatewayRoute with an MCP rule with a tool name holding a space", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, protocol: MCP, backend: {url: "http://127.0.0.1:3001"}, mcp: {rules: [{tools: ["echo", "rm -rf"]}]}}`, "spec.mcp.rules[0].tools[1]", "should match"),
		Entry("a GatewayRoute with an MCP rule with a resource prefix without a scheme", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, protocol: MCP, backend: {url: "http://127.0.0.1:3001"}, mcp: {rules: [{resources: ["/etc/passwd"]}]}}`, "spec.mcp.rules[0].resources[0]", "should match"),
		Entry("a GatewayRoute with an MCP rule with a malformed scope", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, protocol: MCP, backend: {url: "http://127.0.0.1:3001"}, mcp: {rules: [{tools: [echo], requiredScopes: ["Not A Scope"]}]}}`, "spec.mcp.rules[0].requiredScopes[0]"),
		Entry("a GatewayRoute with an MCP rule with an unknown scopeMatch", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, protocol: MCP, backend: {url: "http://127.0.0.1:3001"}, mcp: {rules: [{tools: [echo], scopeMatch: Most}]}}`, "spec.mcp.rules[0].scopeMatch", "Unsupported value"),
		Entry("a GatewayRoute with an MCP rule with a zero rate", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, protocol: MCP, backend: {url: "http://127.0.0.1:3001"}, mcp: {rules: [{tools: [echo], rateLimit: {requestsPerSecond: 0}}]}}`, "spec.mcp.rules[0].rateLimit.requestsPerSecond"),
		Entry("a GatewayRoute with an unknown MCP denialMode", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, protocol: MCP, backend: {url: "http://127.0.0.1:3001"}, mcp: {denialMode: Silent}}`, "spec.mcp.denialMode", "Unsupported value"),
		Entry("a GatewayRoute with an unknown MCP unlisted policy", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, protocol: MCP, backend: {url: "http://127.0.0.1:3001"}, mcp: {unlisted: Allow}}`, "spec.mcp.unlisted", "Unsupported value"),
		Entry("a GatewayRoute with an A2A rule without methods", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, protocol: A2A, backend: {url: "http://127.0.0.1:3001"}, a2a: {rules: [{requiredScopes: [a2a]}]}}`, "spec.a2a.rules[0].methods", "Required value"),
		Entry("a GatewayRoute with an A2A rule with a wildcard that is not a trailing /*", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, protocol: A2A, backend: {url: "http://127.0.0.1:3001"}, a2a: {rules: [{methods: ["tasks/*/get"]}]}}`, "spec.a2a.rules[0].methods[0]", "should match"),
		Entry("a GatewayRoute with an A2A skill annotation without scopes", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, protocol: A2A, backend: {url: "http://127.0.0.1:3001"}, a2a: {skills: [{id: summarise}]}}`, "spec.a2a.skills[0].requiredScopes", "Required value"),
		Entry("a GatewayRoute annotating one A2A skill twice", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, protocol: A2A, backend: {url: "http://127.0.0.1:3001"}, a2a: {skills: [{id: s, requiredScopes: [a]}, {id: s, requiredScopes: [b]}]}}`, "spec.a2a.skills[1]", "Duplicate value"),
		Entry("a GatewayRoute whose backend CA Secret has no name", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, backend: {url: "https://backend.example", tls: {caSecretRef: {key: ca.crt}}}}`, "spec.backend.tls.caSecretRef.name"),
		Entry("an OAuthClient whose tlsClientAuth is not a boolean", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tlsClientAuth: "yes"}`, "spec.tlsClientAuth"),
		Entry("an OAuthClient with tlsClientAuth and tlsClientCertificate", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tlsClientAuth: true, tlsClientCertificate: {ca: {secretRef: {name: ca}}, subjectDN: "CN=a"}}`, "spec.tlsClientCertificate", "cannot both be set"),
		Entry("an OAuthClient whose tlsClientCertificate names no subject", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tlsClientCertificate: {ca: {secretRef: {name: ca}}}}`, "spec.tlsClientCertificate", "exactly one of subjectDN, sanDNS, sanURI, sanIP and sanEmail"),
		Entry("an OAuthClient whose tlsClientCertificate names two subjects", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tlsClientCertificate: {ca: {secretRef: {name: ca}}, subjectDN: "CN=a", sanDNS: a.example}}`, "spec.tlsClientCertificate", "exactly one of subjectDN"),
		Entry("an OAuthClient whose tlsClientCertificate names no CA", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tlsClientCertificate: {subjectDN: "CN=a"}}`, "spec.tlsClientCertificate.ca", "Required value"),
		Entry("an OAuthClient whose tlsClientCertificate.ca names both a Secret and a ConfigMap", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tlsClientCertificate: {ca: {secretRef: {name: ca}, configMapRef: {name: ca}}, subjectDN: "CN=a"}}`, "spec.tlsClientCertificate.ca", "exactly one of secretRef and configMapRef"),
		Entry("an OAuthClient whose tlsClientCertificate.ca names nothing", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tlsClientCertificate: {ca: {}, subjectDN: "CN=a"}}`, "spec.tlsClientCertificate.ca", "exactly one of secretRef and configMapRef"),
		Entry("an OAuthClient whose tlsClientCertificate.subjectDN is not a DN", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tlsClientCertificate: {ca: {secretRef: {name: ca}}, subjectDN: "reporter"}}`, "spec.tlsClientCertificate.subjectDN", "RFC 4514"),
		Entry("an OAuthClient whose tlsClientCertificate.sanURI is relative", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tlsClientCertificate: {ca: {configMapRef: {name: ca}}, sanURI: "/ns/a"}}`, "spec.tlsClientCertificate.sanURI", "absolute URI"),
		Entry("an OAuthClient whose tlsClientCertificate.sanIP is not an address", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tlsClientCertificate: {ca: {configMapRef: {name: ca}}, sanIP: "10.0.0"}}`, "spec.tlsClientCertificate.sanIP", "IPv4 or IPv6"),
		Entry("an OAuthClient whose tlsClientCertificate.sanDNS is not a DNS name", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tlsClientCertificate: {ca: {configMapRef: {name: ca}}, sanDNS: "a b"}}`, "spec.tlsClientCertificate.sanDNS", "should match"),
		Entry("an OAuthClient whose tlsClientCertificate.sanEmail is not an address", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [mcp], tlsClientCertificate: {ca: {configMapRef: {name: ca}}, sanEmail: "reporter"}}`, "spec.tlsClientCertificate.sanEmail", "should match"),
		Entry("an LLM GatewayRoute without spec.llm", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /llm, protocol: LLM, backend: {url: "http://127.0.0.1:3001"}}`, "spec.llm", "needs spec.llm"),
		Entry("spec.llm on an HTTP route", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /llm, backend: {url: "http://127.0.0.1:3001"}, llm: {providers: [{name: p, format: OpenAI, apiKeySecretRef: {name: k}}], models: [{match: "*", provider: p}]}}`, "spec.llm", "llm is allowed only on routes with protocol LLM"),
		Entry("a model route naming no declared provider", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /llm, protocol: LLM, backend: {url: "http://127.0.0.1:3001"}, llm: {providers: [{name: p, format: OpenAI, apiKeySecretRef: {name: k}}], models: [{match: "*", provider: q}]}}`, "spec.llm.models", "must name one of providers[].name"),
		Entry("a provider of an unknown format", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /llm, protocol: LLM, backend: {url: "http://127.0.0.1:3001"}, llm: {providers: [{name: p, format: Gemini, apiKeySecretRef: {name: k}}], models: [{match: "*", provider: p}]}}`, "spec.llm.providers[0].format", "Unsupported value"),
		Entry("a provider without a key Secret", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /llm, protocol: LLM, backend: {url: "http://127.0.0.1:3001"}, llm: {providers: [{name: p, format: OpenAI}], models: [{match: "*", provider: p}]}}`, "spec.llm.providers[0].apiKeySecretRef"),
		Entry("an upstream model that is a pattern", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /llm, protocol: LLM, backend: {url: "http://127.0.0.1:3001"}, llm: {providers: [{name: p, format: OpenAI, apiKeySecretRef: {name: k}}], models: [{match: "gpt-*", provider: p, upstreamModel: "gpt-*"}]}}`, "spec.llm.models[0].upstreamModel"),
		Entry("an OAuthClient's empty allowedModels", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [service], llm: {allowedModels: []}}`, "spec.llm.allowedModels"),
		Entry("an OAuthClient's zero output cap", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [service], llm: {allowedModels: ["*"], maxOutputTokensPerCall: 0}}`, "spec.llm.maxOutputTokensPerCall"),
		Entry("an OAuthClient's empty token quota", `
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad}
spec: {scopes: [service], llm: {allowedModels: ["*"], tokenQuota: {}}}`, "spec.llm.tokenQuota", "needs perMinute or perDay"),
		Entry("a GatewayRoute whose requireDPoP is not a boolean", `
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: bad}
spec: {pathPrefix: /x, requireDPoP: "yes", backend: {url: "http://127.0.0.1:3001"}}`, "spec.requireDPoP"),
	)
})

var _ = Describe("The deployment manifests", func() {
	It("pass a server-side dry run of kubectl apply -k config/default", func() {
		kubeconfig := writeKubeconfig()
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "scopegate-system"}}
		Expect(client_IgnoreAlreadyExists(k8s.Create(ctx, ns))).To(Succeed())
		kubectl := filepath.Join(rootDir, "bin", "k8s", "kubectl")
		cmd := exec.Command(kubectl, "--kubeconfig", kubeconfig, "apply", "--dry-run=server", "-k", filepath.Join(rootDir, "config", "default"))
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "kubectl said:\n%s", out)
		Expect(string(out)).To(ContainSubstring("deployment.apps/scopegate"))
		Expect(string(out)).To(ContainSubstring("customresourcedefinition.apiextensions.k8s.io/oauthclients.scopegate.dev"))
		Expect(string(out)).To(ContainSubstring("clusterrole.rbac.authorization.k8s.io/scopegate-manager-role"))
	})

	It("serve HTTPS by default, and with cert-manager's certificate in config/default-with-cert-manager", func() {
		kubectl := filepath.Join(rootDir, "bin", "k8s", "kubectl")
		out, err := exec.Command(kubectl, "kustomize", filepath.Join(rootDir, "config", "default")).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "kubectl said:\n%s", out)
		Expect(string(out)).To(ContainSubstring("--tls-mode=auto"))
		Expect(string(out)).To(ContainSubstring("--issuer=https://"))
		Expect(string(out)).To(ContainSubstring("--gateway-url=https://"))

		out, err = exec.Command(kubectl, "kustomize", filepath.Join(rootDir, "config", "default-with-cert-manager")).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "kubectl said:\n%s", out)
		Expect(string(out)).To(ContainSubstring("--tls-mode=secret"))
		Expect(string(out)).NotTo(ContainSubstring("--tls-mode=auto"))
		Expect(string(out)).To(ContainSubstring("--tls-secret=scopegate-system/scopegate-serving-cert"))
		Expect(string(out)).To(ContainSubstring("kind: Certificate"))
		Expect(string(out)).To(ContainSubstring("secretName: scopegate-serving-cert"))
	})

	It("make kubectl refuse an invalid OAuthClient with a field-naming message", func() {
		kubeconfig := writeKubeconfig()
		ns := newNamespace()
		f := filepath.Join(GinkgoT().TempDir(), "bad.yaml")
		Expect(os.WriteFile(f, []byte(fmt.Sprintf(`
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: bad, namespace: %s}
spec: {scopes: [mcp], tokenSecret: {scopes: [admin]}}
`, ns)), 0o600)).To(Succeed())
		kubectl := filepath.Join(rootDir, "bin", "k8s", "kubectl")
		out, err := exec.Command(kubectl, "--kubeconfig", kubeconfig, "apply", "-f", f).CombinedOutput()
		Expect(err).To(HaveOccurred())
		Expect(string(out)).To(ContainSubstring("spec.tokenSecret.scopes"))
		Expect(string(out)).To(ContainSubstring("must be a subset of scopes"))
	})
})

func writeKubeconfig() string {
	user, err := env.AddUser(envtest.User{Name: "admission-admin", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	data, err := user.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	f := filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	Expect(os.WriteFile(f, data, 0o600)).To(Succeed())
	return f
}

// serviceAccountList is n ServiceAccount references as a YAML flow list body.
func serviceAccountList(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf("{name: sa-%d}", i)
	}
	return strings.Join(items, ", ")
}
