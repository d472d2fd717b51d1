package dpop_test

import (
	"testing"

	"github.com/scopegate/scopegate/internal/dpop"
	"github.com/scopegate/scopegate/internal/dpop/dpoptest"
)

// proofBatch is how many distinct proofs a benchmark signs up front: a
// proof is single-use, so the verifier is replaced (its replay cache
// empty) whenever the batch has been used, outside the timed part.
const proofBatch = 2048

// BenchmarkVerify verifies one fresh ES256 proof per iteration with every
// check of the gateway's path: the signature, htm, htu, ath, the iat window
// and the replay cache (the jti recorded).
func BenchmarkVerify(b *testing.B) {
	clock := newClock()
	key := dpoptest.NewES256(b)
	const htu = "https://gw.example.test/api/bench/items"
	const token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0ZWFtLWEifQ.c2lnbmF0dXJl"
	proofs := make([]string, proofBatch)
	for i := range proofs {
		proofs[i] = key.Proof(b, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: "GET", HTU: htu, IAT: clock.Now(), ATH: dpoptest.ATH(token)})
	}
	req := dpop.Request{Method: "GET", URL: htu, AccessToken: token}
	jkt := key.Thumbprint()
	var v *dpop.Verifier
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if i%proofBatch == 0 {
			b.StopTimer()
			v = dpop.NewVerifier(dpop.Options{Now: clock.Now})
			b.StartTimer()
		}
		p, err := v.Verify(proofs[i%proofBatch], req)
		if err != nil || p.JKT != jkt {
			b.Fatalf("Verify: %v", err)
		}
		i++
	}
}
