package gateway

import (
	"net/http"
	"strings"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/dpop"
)

// dpopHeader is the canonical key of the DPoP request header.
var dpopHeader = http.CanonicalHeaderKey(dpop.Header)

// decideBinding applies RFC 9449 §7 to a verified token. A token bound to
// a DPoP key (cnf.jkt) is accepted only in the DPoP scheme, with a proof
// signed by that key for this request (htm, htu: the gateway URL and the
// path as sent; ath: the token's hash), fresh and not seen before on this
// replica; sent as a bearer token it is refused (dpop_required). A token
// without cnf in the DPoP scheme is refused too: the scheme promises a
// binding the token does not have. On a route that requires DPoP
// (Route.RequireDPoP) an unbound bearer token is refused (dpop_required)
// too; a hypothetical token (explain's "what could this client do") passes
// there, since any client may get a bound one. Explaining (peekTokens) checks the proof without using it up.
func (g *Gateway) decideBinding(v *verdict, f *facts, rt *Route, c *accesstoken.Claims, mode limitMode) bool {
	if !g.decideCertBinding(v, f, rt, c) {
		return false
	}
	bound := c.Confirmation != nil && c.Confirmation.JKT != ""
	switch {
	case !bound && f.creds != DPoP && rt.RequireDPoP && f.hypothetical != nil:
		// Explaining what a client could do: any client may get a bound
		// token by sending a proof with its token request (as Reaches).
		v.check(func() Check {
			return Check{Name: "dpop", Passed: true, Detail: "the route requires DPoP-bound tokens (requireDPoP); the client may get one by sending a DPoP proof to the token endpoint"}
		})
		return true
	case !bound && f.creds != DPoP && rt.RequireDPoP:
		v.check(func() Check {
			return Check{Name: "dpop", Detail: "the route requires DPoP-bound tokens (requireDPoP) and the token is a bearer token"}
		})
		v.deny(g.dpopError(rt, "invalid_token", "the route requires a DPoP-bound token: request one with a DPoP proof and send it with the DPoP scheme", ReasonDPoPRequired))
		return false
	case !bound && f.creds != DPoP:
		return true
	case bound && f.creds != DPoP:
		v.check(func() Check {
			return Check{Name: "dpop", Detail: "the token is bound to a DPoP key (cnf.jkt) but was sent as a bearer token"}
		})
		v.deny(g.dpopError(rt, "invalid_token", "the token is bound to a DPoP key: send it with the DPoP scheme and a proof", ReasonDPoPRequired))
		return false
	case !bound:
		v.check(func() Check {
			return Check{Name: "dpop", Detail: "the DPoP scheme was used with a token that is not DPoP-bound"}
		})
		v.deny(g.dpopError(rt, "invalid_dpop_proof", "the token is not bound to a DPoP key", ReasonInvalidDPoPProof))
		return false
	}
	detail := ""
	switch proof := f.proof; {
	case f.proofErr != nil:
		detail = f.proofErr.Error()
	default:
		p, err := g.dpop.Verify(proof, dpop.Request{Method: f.method, URL: g.gatewayURL + f.rawPath, AccessToken: f.token, Peek: mode == peekTokens})
		switch {
		case err != nil:
			detail = err.Error()
		case p.JKT != c.Confirmation.JKT:
			detail = "the proof is signed by another key than the one the token is bound to"
		}
	}
	if detail != "" {
		v.check(func() Check { return Check{Name: "dpop", Detail: detail} })
		v.deny(g.dpopError(rt, "invalid_dpop_proof", "the DPoP proof is invalid", ReasonInvalidDPoPProof))
		return false
	}
	v.check(func() Check {
		return Check{Name: "dpop", Passed: true, Detail: "the proof is signed by the token's key (cnf.jkt) for this request, fresh and unused"}
	})
	return true
}

// dpopError is a 401 in the DPoP scheme (RFC 9449 §7.1): the error code,
// the algorithms proofs may use, and the route's resource metadata.
func (g *Gateway) dpopError(rt *Route, code, desc, reason string) *gatewayError {
	return &gatewayError{
		Status:      http.StatusUnauthorized,
		Code:        code,
		Description: desc,
		Reason:      reason,
		Challenge: challengeIn("DPoP",
			[2]string{"error", code},
			[2]string{"error_description", desc},
			[2]string{"algs", strings.Join(g.dpop.Algorithms(), " ")},
			[2]string{"resource_metadata", g.metadataURL(rt.PathPrefix)},
		),
	}
}
