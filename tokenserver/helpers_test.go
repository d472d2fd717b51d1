package tokenserver

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/tokenserver/keys"
	"github.com/scopegate/scopegate/tokenserver/revocation"
)

const testIssuer = "https://auth.example.test"

// fakeClock is a settable clock.
func newClock() *testingclock.FakeClock {
	return testingclock.NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

type fixture struct {
	t     testing.TB
	clock *testingclock.FakeClock
	reg   *registry.Registry
	ring  *keys.Ring
	revs  *revocation.Memory
	srv   *Server
	prom  *prometheus.Registry
}

// Secrets of the fixture's clients.
const (
	secretA = "secret-a-0123456789abcdefghijklmnopqrstuvwxyz"
	secretB = "secret-b-0123456789abcdefghijklmnopqrstuvwxyz"
)

func newFixture(t testing.TB, mutate ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: newClock(), reg: registry.New(), revs: nil, prom: prometheus.NewRegistry()}
	ring, err := keys.NewMemoryRing(keys.Policy{}, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	f.ring = ring
	f.revs = revocation.NewMemory(f.clock.Now)
	f.addClient(&registry.Client{ID: "team-a.alpha", Scopes: []string{"mcp", "mcp:github:read", "hook:govern", "a2a"}}, secretA)
	f.addClient(&registry.Client{ID: "team-b.beta", Scopes: []string{"service", "user"}, Audiences: []string{"mcp", "api"}, PluginID: "github", TTL: 10 * time.Minute}, secretB)
	opts := Options{Issuer: testIssuer, Registry: f.reg, Keys: ring, Revocations: f.revs, Now: f.clock.Now, Metrics: f.prom}
	for _, m := range mutate {
		m(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	return f
}

func (f *fixture) addClient(c *registry.Client, secret string) {
	c.Subject = registry.SubjectFor(c.ID)
	c.Secrets = []registry.SecretDigest{{Digest: registry.Digest(secret)}}
	f.reg.Upsert(c)
}

// post sends a form to path through the handler.
func (f *fixture) post(path string, form url.Values, hdr map[string]string) *httptest.ResponseRecorder {
	return f.postRaw(path, form.Encode(), hdr)
}

// postRaw sends an already encoded form body to path through the handler.
func (f *fixture) postRaw(path, body string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(w, r)
	return w
}

func basic(id, secret string) map[string]string {
	v := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
	return map[string]string{"Authorization": "Basic " + v}
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func formEscape(s string) string { return url.QueryEscape(s) }

// issuedCount is the value of scopegate_tokens_issued_total.
func (f *fixture) issuedCount() float64 {
	f.t.Helper()
	mfs, err := f.prom.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	var total float64
	for _, mf := range mfs {
		if mf.GetName() == "scopegate_tokens_issued_total" {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}
