package tlsclientauth

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Subject is the certificate subject value a client registered; exactly
// one field is set (RFC 8705 §2.1.2: a client using tls_client_auth MUST
// use exactly one of these metadata parameters).
type Subject struct {
	DN    string // tls_client_auth_subject_dn (RFC 4514)
	DNS   string // tls_client_auth_san_dns: a dNSName SAN
	URI   string // tls_client_auth_san_uri: a uniformResourceIdentifier SAN
	IP    string // tls_client_auth_san_ip: an iPAddress SAN
	Email string // tls_client_auth_san_email: an rfc822Name SAN
}

// String is the subject as RFC 8705 names its metadata parameter, for
// messages ("tls_client_auth_subject_dn CN=agent").
func (s Subject) String() string {
	switch {
	case s.DN != "":
		return "subject DN " + s.DN
	case s.DNS != "":
		return "DNS SAN " + s.DNS
	case s.URI != "":
		return "URI SAN " + s.URI
	case s.IP != "":
		return "IP SAN " + s.IP
	case s.Email != "":
		return "email SAN " + s.Email
	}
	return "no subject"
}

// matcher reports whether a leaf certificate carries the subject.
type matcher func(*x509.Certificate) bool

// compile checks the subject and returns its matcher. The comparisons are
// exact, as RFC 8705 §2.1.2 asks: a wildcard SAN in a certificate matches
// only the same wildcard; DNS names and the domain of an email address
// ignore case; IP addresses compare as addresses; the subject DN compares
// RDN by RDN, attribute types by OID and values ignoring case and
// insignificant spaces (LDAP's caseIgnoreMatch).
func (s Subject) compile() (matcher, error) {
	n := 0
	for _, v := range []string{s.DN, s.DNS, s.URI, s.IP, s.Email} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("exactly one of subject DN, DNS, URI, IP and email SAN is needed, %d are set", n)
	}
	switch {
	case s.DN != "":
		want, err := ParseDN(s.DN)
		if err != nil {
			return nil, fmt.Errorf("subject DN: %w", err)
		}
		return func(c *x509.Certificate) bool {
			got, err := subjectDN(c.RawSubject)
			return err == nil && got.equal(want)
		}, nil
	case s.DNS != "":
		return func(c *x509.Certificate) bool {
			for _, d := range c.DNSNames {
				if strings.EqualFold(d, s.DNS) {
					return true
				}
			}
			return false
		}, nil
	case s.URI != "":
		u, err := url.Parse(s.URI)
		if err != nil || !u.IsAbs() {
			return nil, errors.New("URI SAN: not an absolute URI")
		}
		return func(c *x509.Certificate) bool {
			for _, got := range c.URIs {
				if got.String() == s.URI {
					return true
				}
			}
			return false
		}, nil
	case s.IP != "":
		want := net.ParseIP(s.IP)
		if want == nil {
			return nil, errors.New("IP SAN: not an IP address")
		}
		return func(c *x509.Certificate) bool {
			for _, got := range c.IPAddresses {
				if got.Equal(want) {
					return true
				}
			}
			return false
		}, nil
	default:
		local, domain, ok := strings.Cut(s.Email, "@")
		if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
			return nil, errors.New("email SAN: not an email address")
		}
		return func(c *x509.Certificate) bool {
			for _, got := range c.EmailAddresses {
				l, d, ok := strings.Cut(got, "@")
				if ok && l == local && strings.EqualFold(d, domain) {
					return true
				}
			}
			return false
		}, nil
	}
}

// Trust authenticates one client's certificates: they chain to its CA
// bundle and carry its registered subject. A Trust is never modified after
// New.
type Trust struct {
	roots   *x509.CertPool
	subject Subject
	match   matcher
	// Key says what the Trust was built from (the bundle and the subject),
	// so that a caller can tell whether a new one differs.
	Key string
	// Origin names where the bundle came from, for the caller's messages
	// ("Secret team-ca key ca.crt"); set before the Trust is shared.
	Origin string
}

// ParseBundle reads the PEM CA certificates of a bundle. It fails when the
// bundle holds none, or a CERTIFICATE block does not parse.
func ParseBundle(pemBundle []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := pemBundle
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("a CERTIFICATE block does not parse: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return certs, nil
}

// New is the Trust of a client whose certificates chain to cas and carry
// subject. It fails when subject is not valid or cas is empty.
func New(cas []*x509.Certificate, subject Subject) (*Trust, error) {
	if len(cas) == 0 {
		return nil, errors.New("no CA certificate")
	}
	m, err := subject.compile()
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	var key strings.Builder
	for _, c := range cas {
		pool.AddCert(c)
		sum := sha256.Sum256(c.Raw)
		key.WriteString(hex.EncodeToString(sum[:]))
		key.WriteByte(' ')
	}
	key.WriteString(subject.String())
	return &Trust{roots: pool, subject: subject, match: m, Key: key.String()}, nil
}

// Subject is the subject the client registered.
func (t *Trust) Subject() Subject { return t.subject }

// Authenticates reports whether chain (the leaf first, then the
// intermediates the client sent) authenticates the client at now: the leaf
// verifies against the client's CA bundle for client authentication
// (x509.ExtKeyUsageClientAuth; a leaf without extended key usages is
// accepted, as Go's verifier does), within every certificate's validity,
// and carries the registered subject. A nil Trust authenticates nothing.
func (t *Trust) Authenticates(chain []*x509.Certificate, now time.Time) bool {
	return t.Check(chain, now) == nil
}

// Check is Authenticates with the reason for a refusal, for logs: it never
// holds key material, only the verifier's error or the subject mismatch.
func (t *Trust) Check(chain []*x509.Certificate, now time.Time) error {
	if t == nil {
		return errors.New("the client has no usable CA")
	}
	if len(chain) == 0 || chain[0] == nil {
		return errors.New("no client certificate")
	}
	return verify(chain, t.roots, now, t.match)
}

// verify checks chain against roots at now and its leaf with match.
func verify(chain []*x509.Certificate, roots *x509.CertPool, now time.Time, match matcher) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return fmt.Errorf("the certificate does not verify: %w", err)
	}
	if !match(chain[0]) {
		return errors.New("the certificate does not carry the registered subject")
	}
	return nil
}

// VerifyChain checks chain against roots at now for client
// authentication, without a subject (scopegate's own CA, whose
// certificates name the client by its UID).
func VerifyChain(chain []*x509.Certificate, roots *x509.CertPool, now time.Time) error {
	if roots == nil || len(chain) == 0 || chain[0] == nil {
		return errors.New("no client certificate or no CA")
	}
	return verify(chain, roots, now, func(*x509.Certificate) bool { return true })
}
