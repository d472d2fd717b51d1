package dpop_test

import (
	"errors"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/dpop"
	"github.com/scopegate/scopegate/internal/dpop/dpoptest"
)

// FuzzVerify feeds arbitrary proofs to the parser: it must never panic, and
// must refuse everything except a proof signed by the key in its own jwk,
// which the fuzzer cannot forge.
func FuzzVerify(f *testing.F) {
	clock := newClock()
	key := dpoptest.NewES256(f)
	f.Add(key.Proof(f, dpoptest.Claims{JTI: "j", HTM: "POST", HTU: tokenURL, IAT: clock.Now()}))
	f.Add(dpoptest.NewEd25519(f).Proof(f, dpoptest.Claims{JTI: "j", HTM: "POST", HTU: tokenURL, IAT: clock.Now()}))
	f.Add(dpoptest.UnsignedProof(f, map[string]any{"typ": "dpop+jwt", "jwk": key.JWK}, map[string]any{"jti": "j"}))
	f.Add("eyJhbGciOiJFUzI1NiJ9.e30.")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		v := dpop.NewVerifier(dpop.Options{Now: func() time.Time { return clock.Now() }, ReplayEntries: 16})
		p, err := v.Verify(raw, dpop.Request{Method: "POST", URL: tokenURL})
		if err == nil {
			if p == nil || p.JKT == "" {
				t.Fatalf("accepted proof without a thumbprint")
			}
			return
		}
		if !errors.Is(err, dpop.ErrInvalidProof) && !errors.Is(err, dpop.ErrReplayCacheFull) {
			t.Fatalf("error %v is neither ErrInvalidProof nor ErrReplayCacheFull", err)
		}
	})
}

// FuzzNormalizeURL checks that normalisation is idempotent.
func FuzzNormalizeURL(f *testing.F) {
	for _, s := range []string{"https://a.example/a/./b/../%7e%2f?q#f", "http://[::1]:80", "https://u:p@h/..%2e/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := dpop.NormalizeURL(s)
		if err != nil {
			return
		}
		n2, err := dpop.NormalizeURL(n)
		if err != nil || n2 != n {
			t.Fatalf("NormalizeURL(%q) = %q, then %q, %v", s, n, n2, err)
		}
	})
}
