package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/dpop/dpoptest"
)

func TestADPoPBoundTokenReachesTheBackendWithoutItsProof(t *testing.T) {
	rf := newRealFixture(t)
	rf.backend = echoBackend(t, "github").URL
	rf.gw.Table().Set(githubRoute(t, rf.backend))
	key := dpoptest.NewES256(t)
	tok := rf.forge(t, func(c *accesstoken.Claims) { c.Confirmation = &accesstoken.Confirmation{JKT: key.Thumbprint()} })
	// The proof names the path as the client sent it, escapes included.
	const target = "/mcp/github/a%20b"
	proof := key.Proof(t, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: http.MethodPost, HTU: testGatewayURL + target, IAT: rf.clock.Now(), ATH: dpoptest.ATH(tok)})

	res := rf.do(t, http.MethodPost, target, "", http.Header{"Authorization": {"dpop " + tok}, "Dpop": {proof}})
	e := readEcho(t, res)
	for _, h := range []string{"Dpop", "Authorization"} {
		if v := e.Header.Get(h); v != "" {
			t.Errorf("the backend received %s: %q", h, v)
		}
	}
	if e.Header.Get(HeaderClientID) != "team-a.github" {
		t.Errorf("identity headers %v", e.Header)
	}
	if logs := rf.logs.all(); strings.Contains(logs, proof) || strings.Contains(logs, tok) {
		t.Errorf("the decision log holds the proof or the token")
	}

	t.Run("a proof for another path is refused with the algorithms to use", func(t *testing.T) {
		other := key.Proof(t, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: http.MethodPost, HTU: testGatewayURL + "/mcp/github/other", IAT: rf.clock.Now(), ATH: dpoptest.ATH(tok)})
		res := rf.do(t, http.MethodPost, target, "", http.Header{"Authorization": {"DPoP " + tok}, "Dpop": {other}})
		ch := res.Header.Get("WWW-Authenticate")
		if res.StatusCode != 401 || !strings.HasPrefix(ch, `DPoP realm="scopegate", error="invalid_dpop_proof"`) || !strings.Contains(ch, `algs="ES256 `) {
			t.Errorf("status %d, WWW-Authenticate %q", res.StatusCode, ch)
		}
	})
	t.Run("two DPoP headers are refused", func(t *testing.T) {
		p := key.Proof(t, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: http.MethodPost, HTU: testGatewayURL + target, IAT: rf.clock.Now(), ATH: dpoptest.ATH(tok)})
		res := rf.do(t, http.MethodPost, target, "", http.Header{"Authorization": {"DPoP " + tok}, "Dpop": {p, p}})
		if res.StatusCode != 401 {
			t.Errorf("status %d", res.StatusCode)
		}
	})
}
