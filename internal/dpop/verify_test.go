package dpop_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"

	"github.com/scopegate/scopegate/internal/dpop"
	"github.com/scopegate/scopegate/internal/dpop/dpoptest"
)

const tokenURL = "https://auth.example.test/oauth/token"

func newClock() *testingclock.FakeClock {
	return testingclock.NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

func TestVerifyAcceptsAWellFormedProof(t *testing.T) {
	clock := newClock()
	for _, tc := range []struct {
		name string
		key  *dpoptest.Key
	}{
		{name: "An ES256 proof is accepted", key: dpoptest.NewES256(t)},
		{name: "An ES384 proof is accepted", key: dpoptest.NewES384(t)},
		{name: "An EdDSA proof is accepted", key: dpoptest.NewEd25519(t)},
		{name: "An RS256 proof is accepted", key: dpoptest.NewRSA(t, 2048)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := dpop.NewVerifier(dpop.Options{Now: clock.Now})
			raw := tc.key.Proof(t, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: "POST", HTU: tokenURL, IAT: clock.Now()})
			p, err := v.Verify(raw, dpop.Request{Method: "POST", URL: tokenURL})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.JKT != tc.key.Thumbprint() || p.Alg != tc.key.Alg || !p.IssuedAt.Equal(clock.Now()) {
				t.Fatalf("proof %+v; want jkt %s alg %s", p, tc.key.Thumbprint(), tc.key.Alg)
			}
		})
	}
}

func TestVerifyRefusesEveryBrokenCheck(t *testing.T) {
	clock := newClock()
	now := clock.Now()
	key := dpoptest.NewES256(t)
	other := dpoptest.NewES256(t)
	good := func() dpoptest.Claims {
		return dpoptest.Claims{JTI: dpoptest.JTI(), HTM: "POST", HTU: tokenURL, IAT: now}
	}
	header := func(kv ...any) map[string]any {
		h := map[string]any{"typ": "dpop+jwt", "jwk": key.JWK}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(h, kv[i].(string))
			} else {
				h[kv[i].(string)] = kv[i+1]
			}
		}
		return h
	}
	withPrivate := map[string]any{}
	for k, v := range key.JWK {
		withPrivate[k] = v
	}
	withPrivate["d"] = "AAAA"
	p384 := dpoptest.NewES384(t)

	for _, tc := range []struct {
		name  string
		proof func(t *testing.T) string
		req   dpop.Request
		want  string
	}{
		{name: "An empty proof is refused", proof: func(*testing.T) string { return "" }, want: "no DPoP proof"},
		{name: "A proof that is not a JWT is refused", proof: func(*testing.T) string { return "not.a.jwt" }, want: "malformed"},
		{name: "An oversized proof is refused", proof: func(*testing.T) string { return strings.Repeat("a", dpop.MaxProofBytes+1) }, want: "exceeds"},
		{name: "A wrong typ is refused", proof: func(t *testing.T) string {
			return key.Sign(t, header("typ", "JWT"), good().Map())
		}, want: "typ must be dpop+jwt"},
		{name: "A missing typ is refused", proof: func(t *testing.T) string {
			return key.Sign(t, header("typ", nil), good().Map())
		}, want: "typ must be dpop+jwt"},
		{name: "A symmetric alg is refused", proof: func(t *testing.T) string {
			return dpoptest.HMACProof(t, header(), good().Map())
		}, want: "signing method HS256 is invalid"},
		{name: "The none alg is refused", proof: func(t *testing.T) string {
			return dpoptest.UnsignedProof(t, header(), good().Map())
		}, want: "signing method none is invalid"},
		{name: "An alg that does not fit the jwk is refused", proof: func(t *testing.T) string {
			return key.Sign(t, header("jwk", p384.JWK), good().Map())
		}, want: "cannot be used with this jwk"},
		{name: "A crit header is refused", proof: func(t *testing.T) string {
			return key.Sign(t, header("crit", []string{"exp"}), good().Map())
		}, want: "crit"},
		{name: "A missing jwk is refused", proof: func(t *testing.T) string {
			return key.Sign(t, header("jwk", nil), good().Map())
		}, want: "jwk header parameter is required"},
		{name: "A jwk with a private key is refused", proof: func(t *testing.T) string {
			return key.Sign(t, header("jwk", withPrivate), good().Map())
		}, want: `private member "d"`},
		{name: "A signature by another key is refused", proof: func(t *testing.T) string {
			return other.Sign(t, header(), good().Map())
		}, want: "signature is invalid"},
		{name: "A missing jti is refused", proof: func(t *testing.T) string {
			c := good()
			c.JTI = ""
			return key.Proof(t, c)
		}, want: "jti is required"},
		{name: "A missing iat is refused", proof: func(t *testing.T) string {
			c := good()
			c.IAT = time.Time{}
			return key.Proof(t, c)
		}, want: "htm, htu and iat are required"},
		{name: "A wrong htm is refused", proof: func(t *testing.T) string {
			c := good()
			c.HTM = "GET"
			return key.Proof(t, c)
		}, want: "htm does not match"},
		{name: "A lower-case htm is refused: methods are case-sensitive", proof: func(t *testing.T) string {
			c := good()
			c.HTM = "post"
			return key.Proof(t, c)
		}, want: "htm does not match"},
		{name: "A wrong htu is refused", proof: func(t *testing.T) string {
			c := good()
			c.HTU = "https://auth.example.test/oauth/introspect"
			return key.Proof(t, c)
		}, want: "htu does not match"},
		{name: "An htu on another host is refused", proof: func(t *testing.T) string {
			c := good()
			c.HTU = "https://evil.example/oauth/token"
			return key.Proof(t, c)
		}, want: "htu does not match"},
		{name: "An htu that is not a URL is refused", proof: func(t *testing.T) string {
			c := good()
			c.HTU = "/oauth/token"
			return key.Proof(t, c)
		}, want: "htu: not an absolute"},
		{name: "An iat older than the window is refused", proof: func(t *testing.T) string {
			c := good()
			c.IAT = now.Add(-dpop.DefaultMaxAge - time.Second)
			return key.Proof(t, c)
		}, want: "iat is more than"},
		{name: "An iat in the future beyond the leeway is refused", proof: func(t *testing.T) string {
			c := good()
			c.IAT = now.Add(dpop.DefaultFutureLeeway + time.Second)
			return key.Proof(t, c)
		}, want: "iat is in the future"},
		{name: "A missing ath is refused when a token is presented", proof: func(t *testing.T) string {
			return key.Proof(t, good())
		}, req: dpop.Request{Method: "POST", URL: tokenURL, AccessToken: "the-token"}, want: "ath does not match"},
		{name: "An ath of another token is refused", proof: func(t *testing.T) string {
			c := good()
			c.ATH = dpoptest.ATH("another-token")
			return key.Proof(t, c)
		}, req: dpop.Request{Method: "POST", URL: tokenURL, AccessToken: "the-token"}, want: "ath does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := dpop.NewVerifier(dpop.Options{Now: clock.Now})
			req := tc.req
			if req.Method == "" {
				req = dpop.Request{Method: "POST", URL: tokenURL}
			}
			_, err := v.Verify(tc.proof(t), req)
			if !errors.Is(err, dpop.ErrInvalidProof) {
				t.Fatalf("error %v, want ErrInvalidProof", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestVerifyBoundaries(t *testing.T) {
	clock := newClock()
	key := dpoptest.NewEd25519(t)
	v := dpop.NewVerifier(dpop.Options{Now: clock.Now})
	for _, tc := range []struct {
		name string
		c    dpoptest.Claims
		req  dpop.Request
	}{
		{name: "An iat exactly at the window's age is accepted", c: dpoptest.Claims{IAT: clock.Now().Add(-dpop.DefaultMaxAge)}},
		{name: "An iat at the future leeway is accepted", c: dpoptest.Claims{IAT: clock.Now().Add(dpop.DefaultFutureLeeway)}},
		{name: "The query and fragment of htu are ignored", c: dpoptest.Claims{HTU: tokenURL + "?x=1#f"}},
		{name: "The request URL's query is ignored", c: dpoptest.Claims{}, req: dpop.Request{Method: "POST", URL: tokenURL + "?a=b"}},
		{name: "htu is compared after normalisation", c: dpoptest.Claims{HTU: "HTTPS://Auth.Example.Test:443/oauth/./%74oken"}},
		{name: "A matching ath is accepted", c: dpoptest.Claims{ATH: dpoptest.ATH("tok")}, req: dpop.Request{Method: "GET", URL: tokenURL, AccessToken: "tok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			req := tc.req
			if req.Method == "" {
				req = dpop.Request{Method: "POST", URL: tokenURL}
			}
			c.JTI, c.HTM = dpoptest.JTI(), req.Method
			if c.HTU == "" {
				c.HTU = tokenURL
			}
			if c.IAT.IsZero() {
				c.IAT = clock.Now()
			}
			if _, err := v.Verify(key.Proof(t, c), req); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestVerifyAcceptsAProofOnce(t *testing.T) {
	clock := newClock()
	key := dpoptest.NewES256(t)
	v := dpop.NewVerifier(dpop.Options{Now: clock.Now})
	c := dpoptest.Claims{JTI: "the-jti", HTM: "POST", HTU: tokenURL, IAT: clock.Now()}
	raw := key.Proof(t, c)
	req := dpop.Request{Method: "POST", URL: tokenURL}
	if _, err := v.Verify(raw, req); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(raw, req)
	if !errors.Is(err, dpop.ErrInvalidProof) || !strings.Contains(err.Error(), "jti was used before") {
		t.Fatalf("replayed proof: %v", err)
	}
	// A new proof with the same jti (another iat) is a replay too.
	clock.Step(time.Second)
	c.IAT = clock.Now()
	if _, err := v.Verify(key.Proof(t, c), req); !errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("a reused jti: %v", err)
	}
	// Another key may use the same jti: the cache is per key.
	if _, err := v.Verify(dpoptest.NewES256(t).Proof(t, c), req); err != nil {
		t.Fatalf("another key's proof with the same jti: %v", err)
	}
	// Once the proof is past the window it is refused for its age, and
	// the cache has let its jti go.
	clock.Step(dpop.DefaultMaxAge + dpop.DefaultFutureLeeway)
	if _, err := v.Verify(raw, req); err == nil || !strings.Contains(err.Error(), "iat is more than") {
		t.Fatalf("an old replay: %v", err)
	}
}

func TestVerifyRefusesAReplayUntilTheWindowEnds(t *testing.T) {
	// A proof dated at the far end of the future leeway stays acceptable
	// for MaxAge+FutureLeeway: the replay cache must hold it as long.
	clock := newClock()
	key := dpoptest.NewES256(t)
	v := dpop.NewVerifier(dpop.Options{Now: clock.Now})
	req := dpop.Request{Method: "POST", URL: tokenURL}
	raw := key.Proof(t, dpoptest.Claims{JTI: "j", HTM: "POST", HTU: tokenURL, IAT: clock.Now().Add(dpop.DefaultFutureLeeway)})
	if _, err := v.Verify(raw, req); err != nil {
		t.Fatal(err)
	}
	for step := time.Duration(0); step < dpop.DefaultMaxAge+dpop.DefaultFutureLeeway; step += 5 * time.Second {
		clock.SetTime(newClock().Now().Add(step))
		// Unrelated traffic rotates the generations.
		if _, err := v.Verify(key.Proof(t, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: "POST", HTU: tokenURL, IAT: clock.Now()}), req); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(raw, req); err == nil {
			t.Fatalf("replay accepted %s after first use", step)
		}
	}
}

func TestVerifyNonceFlow(t *testing.T) {
	clock := newClock()
	key := dpoptest.NewES256(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	nonces := dpop.NewNonces(func() ([][]byte, error) { return [][]byte{secret}, nil }, time.Minute, clock.Now)
	v := dpop.NewVerifier(dpop.Options{Now: clock.Now, Nonces: nonces})
	req := dpop.Request{Method: "POST", URL: tokenURL}
	proof := func(nonce string) string {
		return key.Proof(t, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: "POST", HTU: tokenURL, IAT: clock.Now(), Nonce: nonce})
	}

	// 1. Without a nonce: use_dpop_nonce, and the server's nonce to use.
	if _, err := v.Verify(proof(""), req); !errors.Is(err, dpop.ErrUseNonce) {
		t.Fatalf("proof without nonce: %v", err)
	}
	nonce, err := nonces.Current()
	if err != nil || nonce == "" {
		t.Fatalf("Current: %q %v", nonce, err)
	}
	// 2. With it: accepted.
	if _, err := v.Verify(proof(nonce), req); err != nil {
		t.Fatalf("proof with nonce: %v", err)
	}
	// 3. The nonce stays good into the next period, not beyond.
	clock.Step(time.Minute)
	if _, err := v.Verify(proof(nonce), req); err != nil {
		t.Fatalf("nonce of the previous period: %v", err)
	}
	clock.Step(time.Minute)
	if _, err := v.Verify(proof(nonce), req); !errors.Is(err, dpop.ErrUseNonce) {
		t.Fatalf("expired nonce: %v", err)
	}
	// 4. A made-up or tampered nonce is refused.
	fresh, _ := nonces.Current()
	tampered := fresh[:len(fresh)-2] + "AA"
	if tampered == fresh {
		tampered = fresh[:len(fresh)-2] + "BB"
	}
	for _, bad := range []string{"abc", tampered, strings.Repeat("A", 32)} {
		if _, err := v.Verify(proof(bad), req); !errors.Is(err, dpop.ErrUseNonce) {
			t.Fatalf("nonce %q: %v", bad, err)
		}
	}
	// 5. Another replica with the same keys accepts the nonce; one with
	// other keys does not.
	same := dpop.NewVerifier(dpop.Options{Now: clock.Now, Nonces: dpop.NewNonces(func() ([][]byte, error) { return [][]byte{[]byte("new"), secret}, nil }, time.Minute, clock.Now)})
	if _, err := same.Verify(proof(fresh), req); err != nil {
		t.Fatalf("replica with the same key: %v", err)
	}
	foreign := dpop.NewVerifier(dpop.Options{Now: clock.Now, Nonces: dpop.NewNonces(func() ([][]byte, error) { return [][]byte{[]byte("other")}, nil }, time.Minute, clock.Now)})
	if _, err := foreign.Verify(proof(fresh), req); !errors.Is(err, dpop.ErrUseNonce) {
		t.Fatalf("replica with another key: %v", err)
	}
	// 6. An invalid proof is invalid_dpop_proof even without a nonce.
	bad := key.Proof(t, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: "GET", HTU: tokenURL, IAT: clock.Now()})
	if _, err := v.Verify(bad, req); !errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("bad proof without nonce: %v", err)
	}
}

func TestReplayCacheIsBounded(t *testing.T) {
	clock := newClock()
	key := dpoptest.NewES256(t)
	v := dpop.NewVerifier(dpop.Options{Now: clock.Now, ReplayEntries: 2})
	req := dpop.Request{Method: "POST", URL: tokenURL}
	proof := func() string {
		return key.Proof(t, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: "POST", HTU: tokenURL, IAT: clock.Now()})
	}
	for range 2 {
		if _, err := v.Verify(proof(), req); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.Verify(proof(), req); !errors.Is(err, dpop.ErrReplayCacheFull) {
		t.Fatalf("third proof in a full cache: %v", err)
	}
	// After a retention the generation rotates and there is room again.
	clock.Step(dpop.DefaultMaxAge + dpop.DefaultFutureLeeway)
	if _, err := v.Verify(proof(), req); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
}

func TestFromHeader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
		want   string
		ok     bool
	}{
		{name: "No header is no proof", ok: true},
		{name: "One header is the proof", values: []string{"a.b.c"}, want: "a.b.c", ok: true},
		{name: "Two headers are refused", values: []string{"a.b.c", "d.e.f"}},
		{name: "An empty header is refused", values: []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string][]string{}
			if tc.values != nil {
				h["Dpop"] = tc.values
			}
			got, err := dpop.FromHeader(h)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("FromHeader = %q, %v", got, err)
			}
			if err != nil && !errors.Is(err, dpop.ErrInvalidProof) {
				t.Fatalf("error %v is not ErrInvalidProof", err)
			}
		})
	}
}

func TestPeekingAtAProofDoesNotUseItUp(t *testing.T) {
	clock := newClock()
	key := dpoptest.NewES256(t)
	v := dpop.NewVerifier(dpop.Options{Now: clock.Now})
	raw := key.Proof(t, dpoptest.Claims{JTI: "peeked", HTM: "POST", HTU: tokenURL, IAT: clock.Now()})
	peek := dpop.Request{Method: "POST", URL: tokenURL, Peek: true}
	for range 2 {
		if _, err := v.Verify(raw, peek); err != nil {
			t.Fatalf("peeking: %v", err)
		}
	}
	if _, err := v.Verify(raw, dpop.Request{Method: "POST", URL: tokenURL}); err != nil {
		t.Fatalf("the proof after two peeks: %v", err)
	}
	if _, err := v.Verify(raw, peek); err == nil || !strings.Contains(err.Error(), "jti was used before") {
		t.Fatalf("peeking at a used proof: %v", err)
	}
}

func TestVerifyReadsMembersByTheirExactNamesOnce(t *testing.T) {
	clock := newClock()
	key := dpoptest.NewES256(t)
	good := func() map[string]any {
		return dpoptest.Claims{JTI: dpoptest.JTI(), HTM: "POST", HTU: tokenURL, IAT: clock.Now()}.Map()
	}
	req := dpop.Request{Method: "POST", URL: tokenURL}
	for _, tc := range []struct {
		name   string
		header map[string]any
		claims map[string]any
		want   string
	}{
		{name: "A typ member in upper case is not typ", header: map[string]any{"TYP": "dpop+jwt", "jwk": key.JWK}, claims: good(), want: "typ must be dpop+jwt"},
		{name: "A jwk member in upper case is not jwk", header: map[string]any{"typ": "dpop+jwt", "JWK": key.JWK}, claims: good(), want: "jwk header parameter is required"},
		{name: "A claim in upper case is not that claim", header: map[string]any{"typ": "dpop+jwt", "jwk": key.JWK}, claims: func() map[string]any {
			c := good()
			c["JTI"] = c["jti"]
			delete(c, "jti")
			return c
		}(), want: "jti is required"},
		{name: "A non-string htu is refused", header: map[string]any{"typ": "dpop+jwt", "jwk": key.JWK}, claims: func() map[string]any {
			c := good()
			c["htu"] = 1
			return c
		}(), want: "htu must be a string"},
		{name: "A string iat is refused", header: map[string]any{"typ": "dpop+jwt", "jwk": key.JWK}, claims: func() map[string]any {
			c := good()
			c["iat"] = "1767322445"
			return c
		}(), want: "iat must be a number"},
		{name: "A jwk that is not an object is refused", header: map[string]any{"typ": "dpop+jwt", "jwk": "EC"}, claims: good(), want: "jwk header parameter is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := dpop.NewVerifier(dpop.Options{Now: clock.Now})
			_, err := v.Verify(key.Sign(t, tc.header, tc.claims), req)
			if !errors.Is(err, dpop.ErrInvalidProof) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrInvalidProof saying %q", err, tc.want)
			}
		})
	}

	// Duplicate members cannot be made with a map: the claims are written
	// by hand and signed.
	t.Run("A claim that appears twice is refused", func(t *testing.T) {
		v := dpop.NewVerifier(dpop.Options{Now: clock.Now})
		raw := key.SignJSON(t, map[string]any{"typ": "dpop+jwt", "jwk": key.JWK},
			`{"jti":"a","htm":"GET","htm":"POST","htu":"`+tokenURL+`","iat":`+strconv.FormatInt(clock.Now().Unix(), 10)+`}`)
		if _, err := v.Verify(raw, req); !errors.Is(err, dpop.ErrInvalidProof) || !strings.Contains(err.Error(), "appears twice") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("An escaped member name is that member", func(t *testing.T) {
		v := dpop.NewVerifier(dpop.Options{Now: clock.Now})
		raw := key.SignJSON(t, map[string]any{"typ": "dpop+jwt", "jwk": key.JWK},
			`{"\u006ati":"escaped","htm":"POST","htu":"`+tokenURL+`","iat":`+strconv.FormatInt(clock.Now().Unix(), 10)+`}`)
		if _, err := v.Verify(raw, req); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	})
}

func TestTheKeyCacheChangesNoDecision(t *testing.T) {
	clock := newClock()
	v := dpop.NewVerifier(dpop.Options{Now: clock.Now})
	req := dpop.Request{Method: "POST", URL: tokenURL}
	es256, p384 := dpoptest.NewES256(t), dpoptest.NewES384(t)
	claims := func() map[string]any {
		return dpoptest.Claims{JTI: dpoptest.JTI(), HTM: "POST", HTU: tokenURL, IAT: clock.Now()}.Map()
	}
	// The P-384 key is parsed and cached by an accepted proof.
	if _, err := v.Verify(p384.Proof(t, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: "POST", HTU: tokenURL, IAT: clock.Now()}), req); err != nil {
		t.Fatal(err)
	}
	// The same jwk text with ES256 is still refused: alg must fit the key.
	if _, err := v.Verify(es256.Sign(t, map[string]any{"typ": "dpop+jwt", "jwk": p384.JWK}, claims()), req); err == nil || !strings.Contains(err.Error(), "cannot be used with this jwk") {
		t.Fatalf("ES256 with a cached P-384 jwk: %v", err)
	}
	// A proof naming a cached key but signed by another is refused.
	if _, err := v.Verify(dpoptest.NewES384(t).Sign(t, map[string]any{"typ": "dpop+jwt", "jwk": p384.JWK}, claims()), req); err == nil || !strings.Contains(err.Error(), "signature is invalid") {
		t.Fatal("a proof signed by another key than its cached jwk was accepted")
	}
	// Each key keeps its own thumbprint.
	for range 2 {
		for _, k := range []*dpoptest.Key{es256, p384} {
			p, err := v.Verify(k.Proof(t, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: "POST", HTU: tokenURL, IAT: clock.Now()}), req)
			if err != nil || p.JKT != k.Thumbprint() {
				t.Fatalf("%s: %v, %+v", k.Alg, err, p)
			}
		}
	}
}
