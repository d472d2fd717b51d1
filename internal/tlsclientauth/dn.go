package tlsclientauth

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// attribute is one attribute type and value of a relative distinguished
// name.
type attribute struct {
	oid   asn1.ObjectIdentifier
	value string
}

// dn is a distinguished name as an RDN sequence in ASN.1 order (the most
// significant RDN, such as C or DC=com, first), each RDN a set of
// attributes.
type dn [][]attribute

// attributeTypes are the short names RFC 4514 §3 lists, and the two that
// openssl and Go print for certificates besides.
var attributeTypes = map[string]asn1.ObjectIdentifier{
	"CN":           {2, 5, 4, 3},
	"L":            {2, 5, 4, 7},
	"ST":           {2, 5, 4, 8},
	"O":            {2, 5, 4, 10},
	"OU":           {2, 5, 4, 11},
	"C":            {2, 5, 4, 6},
	"STREET":       {2, 5, 4, 9},
	"DC":           {0, 9, 2342, 19200300, 100, 1, 25},
	"UID":          {0, 9, 2342, 19200300, 100, 1, 1},
	"SERIALNUMBER": {2, 5, 4, 5},
	"EMAILADDRESS": {1, 2, 840, 113549, 1, 9, 1},
}

// MaxDNLength bounds a registered subject DN (the CRD's limit).
const MaxDNLength = 1024

// ParseDN parses the string form of a distinguished name (RFC 4514), as
// RFC 8705 §2.1.2's tls_client_auth_subject_dn holds it: "CN=agent,
// O=Example, C=DE", the least significant RDN first. Attribute types are
// the short names of RFC 4514 §3 (and SERIALNUMBER, emailAddress) or
// dotted OIDs; values may use RFC 4514's escapes. Values in the #hex form
// (BER encodings) are refused: a certificate's subject is compared by its
// string values.
func ParseDN(s string) (dn, error) {
	if len(s) > MaxDNLength {
		return nil, fmt.Errorf("longer than %d bytes", MaxDNLength)
	}
	if !utf8.ValidString(s) {
		return nil, errors.New("not UTF-8")
	}
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty")
	}
	p := &dnParser{s: s}
	var rdns dn
	for {
		rdn, err := p.rdn()
		if err != nil {
			return nil, err
		}
		rdns = append(rdns, rdn)
		if p.eof() {
			break
		}
		p.i++ // the ','
	}
	// The string lists the RDNs in reverse order (RFC 4514 §2.1).
	for i, j := 0, len(rdns)-1; i < j; i, j = i+1, j-1 {
		rdns[i], rdns[j] = rdns[j], rdns[i]
	}
	return rdns, nil
}

type dnParser struct {
	s string
	i int
}

func (p *dnParser) eof() bool { return p.i >= len(p.s) }

func (p *dnParser) skipSpaces() {
	for !p.eof() && p.s[p.i] == ' ' {
		p.i++
	}
}

// rdn parses attributes joined by '+' up to a ',' or the end.
func (p *dnParser) rdn() ([]attribute, error) {
	var rdn []attribute
	for {
		a, err := p.attribute()
		if err != nil {
			return nil, err
		}
		rdn = append(rdn, a)
		if p.eof() || p.s[p.i] == ',' {
			return rdn, nil
		}
		p.i++ // the '+'
	}
}

func (p *dnParser) attribute() (attribute, error) {
	p.skipSpaces()
	start := p.i
	for !p.eof() && p.s[p.i] != '=' && p.s[p.i] != ',' && p.s[p.i] != '+' {
		p.i++
	}
	if p.eof() || p.s[p.i] != '=' {
		return attribute{}, fmt.Errorf("%q at offset %d is not an attribute type followed by '='", p.s[start:p.i], start)
	}
	typ := strings.TrimSpace(p.s[start:p.i])
	oid, err := attributeType(typ)
	if err != nil {
		return attribute{}, err
	}
	p.i++ // the '='
	p.skipSpaces()
	if !p.eof() && p.s[p.i] == '#' {
		return attribute{}, fmt.Errorf("the value of %s is in the #hex form, which is not supported", typ)
	}
	var b strings.Builder
	for !p.eof() {
		c := p.s[p.i]
		switch c {
		case ',', '+':
			return attribute{oid: oid, value: normalize(b.String())}, nil
		case '"', ';', '<', '>':
			return attribute{}, fmt.Errorf("the value of %s has an unescaped %q", typ, c)
		case '\\':
			r, n, err := unescape(p.s[p.i:])
			if err != nil {
				return attribute{}, fmt.Errorf("the value of %s: %w", typ, err)
			}
			b.WriteString(r)
			p.i += n
			continue
		}
		b.WriteByte(c)
		p.i++
	}
	return attribute{oid: oid, value: normalize(b.String())}, nil
}

// unescape decodes the escape at the start of s ("\," or "\2C"); it
// returns the decoded bytes and how many bytes of s it took.
func unescape(s string) (string, int, error) {
	if len(s) < 2 {
		return "", 0, errors.New("a trailing backslash")
	}
	if strings.IndexByte(`"+,;<>\ =#`, s[1]) >= 0 {
		return s[1:2], 2, nil
	}
	if len(s) >= 3 {
		if b, err := hex.DecodeString(s[1:3]); err == nil {
			return string(b), 3, nil
		}
	}
	return "", 0, fmt.Errorf("an invalid escape %q", s[:2])
}

func attributeType(typ string) (asn1.ObjectIdentifier, error) {
	if oid, ok := attributeTypes[strings.ToUpper(typ)]; ok {
		return oid, nil
	}
	parts := strings.Split(typ, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("unknown attribute type %q (use CN, O, OU, L, ST, C, STREET, DC, UID, SERIALNUMBER, emailAddress or a dotted OID)", typ)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, part := range parts {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 || (len(part) > 1 && part[0] == '0') {
			return nil, fmt.Errorf("unknown attribute type %q (use CN, O, OU, L, ST, C, STREET, DC, UID, SERIALNUMBER, emailAddress or a dotted OID)", typ)
		}
		oid[i] = n
	}
	return oid, nil
}

// normalize makes a value comparable as LDAP's caseIgnoreMatch does
// (RFC 4518): leading and trailing spaces dropped, inner runs of spaces
// one space, case folded.
func normalize(v string) string {
	return strings.ToLower(strings.Join(strings.Fields(v), " "))
}

// subjectDN is the certificate subject (its DER encoding, RawSubject) as a
// dn; an attribute whose value is not a string cannot match and fails.
func subjectDN(raw []byte) (dn, error) {
	var seq pkix.RDNSequence
	rest, err := asn1.Unmarshal(raw, &seq)
	if err != nil || len(rest) > 0 {
		return nil, errors.New("the certificate's subject does not parse")
	}
	out := make(dn, len(seq))
	for i, set := range seq {
		for _, atv := range set {
			v, ok := atv.Value.(string)
			if !ok {
				return nil, fmt.Errorf("the certificate's subject attribute %s is not a string", atv.Type)
			}
			out[i] = append(out[i], attribute{oid: atv.Type, value: normalize(v)})
		}
	}
	return out, nil
}

// equal reports whether two DNs are the same RDNs in the same order, each
// with the same attributes in any order.
func (d dn) equal(o dn) bool {
	if len(d) != len(o) {
		return false
	}
	for i := range d {
		if !sameSet(d[i], o[i]) {
			return false
		}
	}
	return true
}

func sameSet(a, b []attribute) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
	for _, x := range a {
		found := false
		for j, y := range b {
			if !used[j] && x.oid.Equal(y.oid) && x.value == y.value {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
