package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/dpop"
	"github.com/scopegate/scopegate/internal/dpop/dpoptest"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/tokenserver"
	"github.com/scopegate/scopegate/tokenserver/keys"
	"github.com/scopegate/scopegate/tokenserver/revocation"
)

// dpopBatch is how many proofs a DPoP benchmark signs ahead: a proof is
// single-use, so when the batch is used up the gateway gets a fresh
// verifier (an empty replay cache) outside the timed part.
const dpopBatch = 2048

// dpopBench is the bench fixture with a token bound to a DPoP key and
// proofs for one request.
type dpopBench struct {
	*benchFixture
	gw     *Gateway
	bound  string
	proofs []string
	next   int
}

const dpopBenchTarget = "/mcp/github/tools/list"

func newDPoPBench(b *testing.B) *dpopBench {
	f := newBenchFixture(b)
	now := time.Now
	ring, err := keys.NewMemoryRing(keys.Policy{}, now)
	if err != nil {
		b.Fatal(err)
	}
	// The fixture's token server, with a key ring the benchmark can sign
	// a bound token with.
	f.ts, err = tokenserver.New(tokenserver.Options{Issuer: testIssuer, Registry: f.reg, Keys: ring, Revocations: revocation.NewMemory(now), Now: now})
	if err != nil {
		b.Fatal(err)
	}
	key := dpoptest.NewES256(b)
	k, err := ring.Signing()
	if err != nil {
		b.Fatal(err)
	}
	c := &accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: testIssuer, Subject: registry.SubjectFor("team-a.github"),
			Audience: []string{"mcp"}, ExpiresAt: jwt.NewNumericDate(now().Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now()),
			NotBefore: jwt.NewNumericDate(now()), ID: "dpop-bench"},
		ClientID: "team-a.github", Scope: "mcp:github:read", TokenType: "DPoP",
		Confirmation: &accesstoken.Confirmation{JKT: key.Thumbprint()},
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["typ"], tok.Header["kid"] = accesstoken.TypAccessToken, k.ID
	d := &dpopBench{benchFixture: f, gw: f.gateway(b, Options{})}
	if d.bound, err = tok.SignedString(k.Private); err != nil {
		b.Fatal(err)
	}
	d.proofs = make([]string, dpopBatch)
	for i := range d.proofs {
		d.proofs[i] = key.Proof(b, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: http.MethodPost, HTU: testGatewayURL + dpopBenchTarget, IAT: now(), ATH: dpoptest.ATH(d.bound)})
	}
	return d
}

// proof is the next unused proof; a used-up batch starts over with a new
// replay cache, outside the timer.
func (d *dpopBench) proof(b *testing.B) string {
	if d.next == len(d.proofs) {
		b.StopTimer()
		d.gw.dpop = dpop.NewVerifier(dpop.Options{Now: d.gw.now})
		d.next = 0
		b.StartTimer()
	}
	d.next++
	return d.proofs[d.next-1]
}

// oneDPoP sends one request with the bound token and a fresh proof
// through h.
func (d *dpopBench) oneDPoP(b *testing.B, h http.Handler) {
	r := httptest.NewRequest(http.MethodPost, "http://gw.example"+dpopBenchTarget, nil)
	r.RemoteAddr = "192.0.2.10:40000"
	r.Header.Set("Authorization", "DPoP "+d.bound)
	r.Header.Set("DPoP", d.proof(b))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Fatalf("status %d (WWW-Authenticate %q): %s", w.Code, w.Header().Get("WWW-Authenticate"), w.Body)
	}
}

// BenchmarkGatewayDPoP is BenchmarkGateway with a DPoP-bound token and a
// proof per request (every check: the signature, htm, htu, ath, iat, the
// replay cache, the key's thumbprint against cnf.jkt). The proofs are
// signed ahead, so only the gateway's side is timed; the plain proxy is
// sent the same requests. "compare" interleaves the plain proxy and the
// DPoP gateway and reports dpop/plain.
func BenchmarkGatewayDPoP(b *testing.B) {
	d := newDPoPBench(b)
	b.Run("proxy=plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d.oneDPoP(b, d.plain)
		}
	})
	b.Run("proxy=gateway-dpop", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d.oneDPoP(b, d.gw)
		}
	})
	b.Run("compare", func(b *testing.B) {
		var plainT, gwT time.Duration
		for b.Loop() {
			start := time.Now()
			d.oneDPoP(b, d.plain)
			mid := time.Now()
			d.oneDPoP(b, d.gw)
			gwT += time.Since(mid)
			plainT += mid.Sub(start)
		}
		n := float64(b.N)
		b.ReportMetric(float64(plainT.Nanoseconds())/n, "plain-ns/req")
		b.ReportMetric(float64(gwT.Nanoseconds())/n, "dpop-ns/req")
		b.ReportMetric(float64(gwT)/float64(plainT), "dpop/plain")
	})
}
