package tlsclientauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// testCA is a CA that signs certificates for the tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T, name string) testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return testCA{cert: c, key: key}
}

// sign issues tmpl (a leaf unless tmpl.IsCA) from ca, valid around now
// unless tmpl sets its validity.
func (ca testCA) sign(t *testing.T, tmpl *x509.Certificate) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Minute), now.Add(time.Hour)
	}
	if tmpl.IsCA {
		tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, x509.KeyUsageCertSign
	} else if tmpl.ExtKeyUsage == nil {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func leaf(t *testing.T, ca testCA, tmpl *x509.Certificate) *x509.Certificate {
	c, _ := ca.sign(t, tmpl)
	return c
}

func trust(t *testing.T, ca testCA, s Subject) *Trust {
	t.Helper()
	tr, err := New([]*x509.Certificate{ca.cert}, s)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestParseDN(t *testing.T) {
	ok := []struct{ name, in, want string }{
		{"RFC 4514's first example", "UID=jsmith,DC=example,DC=net", "dc=net/dc=example/uid=jsmith"},
		{"a multi-valued RDN", "OU=Sales+CN=J.  Smith,DC=example,DC=net", "dc=net/dc=example/ou=sales+cn=j. smith"},
		{"an escaped comma", `CN=James \"Jim\" Smith\, III,DC=example,DC=net`, `dc=net/dc=example/cn=james "jim" smith, iii`},
		{"a hex-escaped UTF-8 value", `CN=Lu\C4\8Di\C4\87`, "cn=lučić"},
		{"spaces around separators, as openssl prints", "CN = agent, O = Example Corp, C = DE", "c=de/o=example corp/cn=agent"},
		{"a dotted OID", "2.5.4.3=agent", "cn=agent"},
		{"emailAddress in any case", "emailAddress=a@example.com", "1.2.840.113549.1.9.1=a@example.com"},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDN(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.render(); got != tc.want {
				t.Errorf("%q parsed as %s, want %s", tc.in, got, tc.want)
			}
		})
	}
	bad := []struct{ name, in string }{
		{"empty", " "},
		{"no '='", "agent"},
		{"a trailing comma", "CN=a,"},
		{"an unknown type", "FOO=bar"},
		{"a hex value", "CN=#04024869"},
		{"an unescaped quote", `CN=a"b`},
		{"a trailing backslash", `CN=a\`},
		{"a bad escape", `CN=a\zz`},
		{"an OID with a leading zero", "2.05.4.3=a"},
	}
	for _, tc := range bad {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			if d, err := ParseDN(tc.in); err == nil {
				t.Errorf("%q parsed as %s", tc.in, d.render())
			}
		})
	}
}

// render prints d in ASN.1 order for the tests.
func (d dn) render() string {
	names := map[string]string{}
	for n, oid := range attributeTypes {
		if n != "EMAILADDRESS" && n != "SERIALNUMBER" && n != "STREET" {
			names[oid.String()] = n
		}
	}
	s := ""
	for i, rdn := range d {
		if i > 0 {
			s += "/"
		}
		for j, a := range rdn {
			if j > 0 {
				s += "+"
			}
			n, ok := names[a.oid.String()]
			if !ok {
				n = a.oid.String()
			}
			s += toLower(n) + "=" + a.value
		}
	}
	return s
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func TestTrustAuthenticates(t *testing.T) {
	ca, other := newCA(t, "team CA"), newCA(t, "team CA") // same name, other key
	subject := pkix.Name{CommonName: "reporter", Organization: []string{"Team A"}, Country: []string{"DE"}}
	uri, _ := url.Parse("spiffe://cluster.local/ns/team-a/sa/reporter")
	good := leaf(t, ca, &x509.Certificate{Subject: subject, DNSNames: []string{"reporter.team-a.svc"}, URIs: []*url.URL{uri},
		IPAddresses: []net.IP{net.ParseIP("10.0.0.7")}, EmailAddresses: []string{"reporter@Team-A.example"}})
	inter, interKey := ca.sign(t, &x509.Certificate{Subject: pkix.Name{CommonName: "team intermediate"}, IsCA: true})
	viaInter := leaf(t, testCA{cert: inter, key: interKey}, &x509.Certificate{Subject: subject})

	cases := []struct {
		name    string
		trust   *Trust
		chain   []*x509.Certificate
		at      time.Time
		matches bool
	}{
		{"the right chain and the right subject DN", trust(t, ca, Subject{DN: "CN=reporter,O=Team A,C=DE"}), []*x509.Certificate{good}, now, true},
		{"the subject DN ignoring case and spaces", trust(t, ca, Subject{DN: "cn=reporter, o=team  a, c=de"}), []*x509.Certificate{good}, now, true},
		{"a chain through an intermediate the client sent", trust(t, ca, Subject{DN: "CN=reporter,O=Team A,C=DE"}), []*x509.Certificate{viaInter, inter}, now, true},
		{"a chain missing its intermediate", trust(t, ca, Subject{DN: "CN=reporter,O=Team A,C=DE"}), []*x509.Certificate{viaInter}, now, false},
		{"a certificate of another CA with the same name", trust(t, other, Subject{DN: "CN=reporter,O=Team A,C=DE"}), []*x509.Certificate{good}, now, false},
		{"another subject DN", trust(t, ca, Subject{DN: "CN=writer,O=Team A,C=DE"}), []*x509.Certificate{good}, now, false},
		{"a subject DN with an RDN fewer", trust(t, ca, Subject{DN: "CN=reporter,O=Team A"}), []*x509.Certificate{good}, now, false},
		{"an expired certificate", trust(t, ca, Subject{DN: "CN=reporter,O=Team A,C=DE"}), []*x509.Certificate{good}, now.Add(2 * time.Hour), false},
		{"a certificate not yet valid", trust(t, ca, Subject{DN: "CN=reporter,O=Team A,C=DE"}), []*x509.Certificate{good}, now.Add(-30 * time.Minute), false},
		{"the DNS SAN, ignoring case", trust(t, ca, Subject{DNS: "Reporter.team-a.svc"}), []*x509.Certificate{good}, now, true},
		{"another DNS SAN", trust(t, ca, Subject{DNS: "writer.team-a.svc"}), []*x509.Certificate{good}, now, false},
		{"the URI SAN", trust(t, ca, Subject{URI: "spiffe://cluster.local/ns/team-a/sa/reporter"}), []*x509.Certificate{good}, now, true},
		{"a URI SAN that is a prefix", trust(t, ca, Subject{URI: "spiffe://cluster.local/ns/team-a/sa/report"}), []*x509.Certificate{good}, now, false},
		{"the IP SAN in another notation", trust(t, ca, Subject{IP: "::ffff:10.0.0.7"}), []*x509.Certificate{good}, now, true},
		{"the email SAN, the domain ignoring case", trust(t, ca, Subject{Email: "reporter@team-a.example"}), []*x509.Certificate{good}, now, true},
		{"the email SAN with another local part case", trust(t, ca, Subject{Email: "Reporter@team-a.example"}), []*x509.Certificate{good}, now, false},
		{"no certificate", trust(t, ca, Subject{DNS: "reporter.team-a.svc"}), nil, now, false},
		{"a nil Trust", nil, []*x509.Certificate{good}, now, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.trust.Authenticates(tc.chain, tc.at); got != tc.matches {
				t.Errorf("Authenticates = %v, want %v (%v)", got, tc.matches, tc.trust.Check(tc.chain, tc.at))
			}
		})
	}
	t.Run("the subject DN in ASN.1 order is a different DN", func(t *testing.T) {
		if trust(t, ca, Subject{DN: "C=DE,O=Team A,CN=reporter"}).Authenticates([]*x509.Certificate{good}, now) {
			t.Error("a reversed DN matched")
		}
	})
	t.Run("a serving certificate does not authenticate a client", func(t *testing.T) {
		server := leaf(t, ca, &x509.Certificate{Subject: subject, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if trust(t, ca, Subject{DN: "CN=reporter,O=Team A,C=DE"}).Authenticates([]*x509.Certificate{server}, now) {
			t.Error("a serverAuth-only certificate authenticated")
		}
	})
	t.Run("a subject attribute that is not a string never matches", func(t *testing.T) {
		odd := leaf(t, ca, &x509.Certificate{Subject: pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: 7}}}})
		if trust(t, ca, Subject{DN: "CN=7"}).Authenticates([]*x509.Certificate{odd}, now) {
			t.Error("an INTEGER CN matched a string")
		}
	})
}

func TestNewRefusesBadInput(t *testing.T) {
	ca := newCA(t, "team CA")
	for name, s := range map[string]Subject{
		"no subject":                {},
		"two subjects":              {DN: "CN=a", DNS: "a.example"},
		"a DN that does not parse":  {DN: "CN"},
		"a relative URI":            {URI: "/ns/a"},
		"an IP that is not one":     {IP: "10.0.0"},
		"an email without a domain": {Email: "a@"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New([]*x509.Certificate{ca.cert}, s); err == nil {
				t.Error("accepted")
			}
		})
	}
	t.Run("no CA", func(t *testing.T) {
		if _, err := New(nil, Subject{DNS: "a.example"}); err == nil {
			t.Error("accepted")
		}
	})
}

func TestParseBundle(t *testing.T) {
	ca := newCA(t, "team CA")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})
	if certs, err := ParseBundle(append(key, block...)); err != nil || len(certs) != 1 {
		t.Errorf("a bundle with a key and a certificate: %d certificates, %v", len(certs), err)
	}
	if _, err := ParseBundle([]byte("not PEM")); err == nil {
		t.Error("a bundle without certificates parsed")
	}
	if _, err := ParseBundle(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2}})); err == nil {
		t.Error("a broken certificate parsed")
	}
}

func FuzzParseDN(f *testing.F) {
	for _, s := range []string{"CN=a,O=b", `CN=a\,b+OU=c`, "2.5.4.3=x", `CN=\C4\8D`, "CN=#00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDN(s)
		if err == nil && len(d) == 0 {
			t.Errorf("%q parsed as an empty DN", s)
		}
	})
}
