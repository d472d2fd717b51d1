package dpop_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/scopegate/scopegate/internal/dpop"
	"github.com/scopegate/scopegate/internal/dpop/dpoptest"
)

// rfc7638Example is the RSA key of RFC 7638 §3.1, with its extra members.
const rfc7638Example = `{
  "kty": "RSA",
  "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
  "e": "AQAB",
  "alg": "RS256",
  "kid": "2011-04-29"
}`

func TestThumbprintMatchesRFC7638Example(t *testing.T) {
	got, err := dpop.Thumbprint([]byte(rfc7638Example))
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("thumbprint %s, want RFC 7638 §3.1's %s", got, want)
	}
}

func TestThumbprintOfGeneratedKeys(t *testing.T) {
	for _, k := range []*dpoptest.Key{dpoptest.NewES256(t), dpoptest.NewES384(t), dpoptest.NewEd25519(t)} {
		js, _ := json.Marshal(k.JWK)
		got, err := dpop.Thumbprint(js)
		if err != nil {
			t.Fatalf("%s: %v", k.Alg, err)
		}
		if got != k.Thumbprint() {
			t.Fatalf("%s: thumbprint %s, want %s", k.Alg, got, k.Thumbprint())
		}
	}
}

func TestThumbprintRefusesKeysAProofMayNotCarry(t *testing.T) {
	ec := dpoptest.NewES256(t).JWK
	with := func(kv ...string) string {
		m := map[string]any{}
		for k, v := range ec {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		js, _ := json.Marshal(m)
		return string(js)
	}
	x := ec["x"].(string)
	for _, tc := range []struct{ name, jwk, want string }{
		{name: "A private EC key is refused", jwk: with("d", "AAAA"), want: `private member "d"`},
		{name: "A symmetric key is refused", jwk: `{"kty":"oct","k":"AAAA"}`, want: `private member "k"`},
		{name: "A private RSA key is refused", jwk: strings.Replace(rfc7638Example, `"kid"`, `"p":"AAAA","kid"`, 1), want: `private member "p"`},
		{name: "An unknown kty is refused", jwk: with("kty", "XYZ"), want: "unsupported jwk kty"},
		{name: "An unknown curve is refused", jwk: with("crv", "P-192"), want: "unsupported EC curve"},
		{name: "A short coordinate is refused", jwk: with("x", x[2:]), want: "full size"},
		{name: "Padded base64 is refused", jwk: with("x", x+"="), want: "full size"},
		{name: "A point off the curve is refused", jwk: with("x", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), want: "not a point"},
		{name: "A non-string member is refused", jwk: `{"kty":"EC","crv":"P-256","x":1,"y":2}`, want: "not strings"},
		{name: "An Ed448 key is refused", jwk: `{"kty":"OKP","crv":"Ed448","x":"AAAA"}`, want: "unsupported OKP curve"},
		{name: "A short RSA modulus is refused", jwk: `{"kty":"RSA","n":"` + strings.Repeat("_", 172) + `","e":"AQAB"}`, want: "modulus has"},
		{name: "An RSA modulus with a leading zero is refused", jwk: `{"kty":"RSA","n":"AA` + strings.Repeat("_", 342) + `","e":"AQAB"}`, want: "minimal"},
		{name: "An even RSA exponent is refused", jwk: strings.Replace(rfc7638Example, `"AQAB"`, `"AQAC"`, 1), want: "exponent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dpop.Thumbprint([]byte(tc.jwk))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
