package servingcert

import (
	"crypto/x509"
	"fmt"
	"slices"
	"sort"
	"time"
)

// RenewalTime is when a certificate valid from notBefore to notAfter is
// replaced: at 2/3 of its lifetime, as cert-manager renews by default
// (pkg/util/pki/renewaltime.go), which leaves a third of the lifetime to
// retry a failed renewal.
func RenewalTime(notBefore, notAfter time.Time) time.Time {
	lifetime := notAfter.Sub(notBefore)
	return notBefore.Add(lifetime - lifetime/3)
}

// CAPolicy is the auto mode's CA schedule.
type CAPolicy struct {
	// Lifetime of each CA certificate.
	Lifetime time.Duration
	// Overlap is how long a new CA is published before it signs, and how
	// long a replaced CA stays published after its successor signs. It must
	// exceed the time a trust bundle takes to reach the clients (a mounted
	// Secret or ConfigMap is refreshed by the kubelet within about a
	// minute).
	Overlap time.Duration
}

// Generator makes a CA valid for lifetime from now that signs from
// activateAt (GenerateCA; tests pass cheaper fakes).
type Generator func(now, activateAt time.Time, lifetime time.Duration) (CA, error)

// Active is the CA that signs at now: the newest one whose ActivateAt has
// passed and that has not expired. ok is false when there is none.
func Active(cas []CA, now time.Time) (CA, bool) {
	var best CA
	found := false
	for _, c := range cas {
		if c.ActivateAt.After(now) || !now.Before(c.NotAfter()) {
			continue
		}
		if !found || c.ActivateAt.After(best.ActivateAt) {
			best, found = c, true
		}
	}
	return best, found
}

// PlanCAs is the CA set for now, from the stored set old:
//
//   - an empty set (or one whose CAs all expired) gets a CA that signs at
//     once: nobody trusts an older one it could overlap with;
//   - at the active CA's renewal time (2/3 of its lifetime), or when
//     rotateNow asks for it, a new CA is added that signs Overlap later; a
//     pending CA not yet signing is replaced by an on-demand rotation;
//   - a CA replaced by a newer active one is dropped Overlap after its
//     successor activated, and every expired CA is dropped.
//
// It reports whether the set changed and why, in one phrase for the log.
func PlanCAs(old []CA, now time.Time, p CAPolicy, rotateNow bool, gen Generator) ([]CA, bool, string, error) {
	cas := slices.Clone(old)
	sort.SliceStable(cas, func(i, j int) bool { return cas[i].ActivateAt.Before(cas[j].ActivateAt) })
	var reasons []string

	kept := cas[:0]
	for _, c := range cas {
		if now.Before(c.NotAfter()) {
			kept = append(kept, c)
		} else {
			reasons = append(reasons, "dropped an expired CA")
		}
	}
	cas = kept

	active, ok := Active(cas, now)
	if !ok {
		ca, err := gen(now, now, p.Lifetime)
		if err != nil {
			return nil, false, "", err
		}
		// Pending CAs are kept: clients may already trust them.
		return append(cas, ca), true, "created a CA", nil
	}

	pending := false
	for _, c := range cas {
		if c.ActivateAt.After(now) {
			pending = true
		}
	}
	switch {
	case rotateNow:
		cas = slices.DeleteFunc(cas, func(c CA) bool { return c.ActivateAt.After(now) })
		ca, err := gen(now, now.Add(p.Overlap), p.Lifetime)
		if err != nil {
			return nil, false, "", err
		}
		cas = append(cas, ca)
		reasons = append(reasons, "rotating the CA on demand")
	case !pending && !now.Before(RenewalTime(active.ActivateAt, active.NotAfter())):
		ca, err := gen(now, now.Add(p.Overlap), p.Lifetime)
		if err != nil {
			return nil, false, "", err
		}
		cas = append(cas, ca)
		reasons = append(reasons, "renewing the CA")
	}

	// A CA replaced by an active successor stays published for Overlap
	// after that successor started signing.
	kept = cas[:0]
	for _, c := range cas {
		if successor, ok := activeSuccessor(cas, c, now); ok && !now.Before(successor.ActivateAt.Add(p.Overlap)) {
			reasons = append(reasons, "dropped a replaced CA")
			continue
		}
		kept = append(kept, c)
	}
	cas = kept
	return cas, len(reasons) > 0, joinReasons(reasons), nil
}

// activeSuccessor is the newest CA after c that is already signing.
func activeSuccessor(cas []CA, c CA, now time.Time) (CA, bool) {
	var out CA
	found := false
	for _, o := range cas {
		if o.ActivateAt.After(c.ActivateAt) && !o.ActivateAt.After(now) && (!found || o.ActivateAt.After(out.ActivateAt)) {
			out, found = o, true
		}
	}
	return out, found
}

func joinReasons(rs []string) string {
	out := ""
	for i, r := range rs {
		if i > 0 {
			out += ", "
		}
		out += r
	}
	return out
}

// Bundle is the PEM trust bundle of a CA set: every CA that is published,
// oldest first.
func Bundle(cas []CA) []byte {
	certs := make([]*x509.Certificate, 0, len(cas))
	for _, c := range cas {
		certs = append(certs, c.Cert)
	}
	return EncodeCerts(certs...)
}

// LeafInput is what the serving-certificate policies look at.
type LeafInput struct {
	// Cert is the stored serving certificate; nil when there is none or it
	// cannot be read (ParseErr says why).
	Cert     *x509.Certificate
	ParseErr error
	// KeyMatches: the stored key belongs to Cert.
	KeyMatches bool
	// Names are the DNS names and IP addresses it must hold (--tls-dns-names).
	Names []string
	// Active is the CA that signs now.
	Active CA
	// RotateRequested: an on-demand rotation is pending.
	RotateRequested bool
	Now             time.Time
}

// LeafPolicy reports whether the serving certificate must be re-issued,
// with a reason (a CamelCase word) and a message.
type LeafPolicy func(LeafInput) (reason, message string, violated bool)

// DefaultLeafPolicies are checked in order; the first violated one decides.
func DefaultLeafPolicies() []LeafPolicy {
	return []LeafPolicy{LeafMissing, LeafUnreadable, LeafKeyMismatch, LeafNamesChanged, LeafNotSignedByActiveCA, LeafExpired, LeafRenewing, LeafRotationRequested}
}

// EvaluateLeaf runs policies in order.
func EvaluateLeaf(policies []LeafPolicy, in LeafInput) (reason, message string, reissue bool) {
	for _, p := range policies {
		if r, m, v := p(in); v {
			return r, m, true
		}
	}
	return "", "", false
}

// LeafMissing: there is no serving certificate yet.
func LeafMissing(in LeafInput) (string, string, bool) {
	if in.Cert == nil && in.ParseErr == nil {
		return "DoesNotExist", "no serving certificate is stored", true
	}
	return "", "", false
}

// LeafUnreadable: the stored certificate cannot be parsed.
func LeafUnreadable(in LeafInput) (string, string, bool) {
	if in.ParseErr != nil {
		return "Unreadable", fmt.Sprintf("the stored serving certificate cannot be read: %v", in.ParseErr), true
	}
	return "", "", false
}

// LeafKeyMismatch: the stored key does not belong to the certificate.
func LeafKeyMismatch(in LeafInput) (string, string, bool) {
	if !in.KeyMatches {
		return "KeyMismatch", "the stored private key does not match the serving certificate", true
	}
	return "", "", false
}

// LeafNamesChanged: the certificate's names differ from --tls-dns-names.
func LeafNamesChanged(in LeafInput) (string, string, bool) {
	dns, ips := splitNames(in.Names)
	have := slices.Clone(in.Cert.DNSNames)
	want := slices.Clone(dns)
	slices.Sort(have)
	slices.Sort(want)
	same := slices.Equal(have, want) && len(ips) == len(in.Cert.IPAddresses)
	if same {
		for _, ip := range ips {
			if !slices.ContainsFunc(in.Cert.IPAddresses, ip.Equal) {
				same = false
			}
		}
	}
	if !same {
		return "NamesChanged", "the serving certificate's names differ from --tls-dns-names", true
	}
	return "", "", false
}

// LeafNotSignedByActiveCA: a new CA has started signing (or the old one is
// gone).
func LeafNotSignedByActiveCA(in LeafInput) (string, string, bool) {
	if in.Cert.CheckSignatureFrom(in.Active.Cert) != nil {
		return "IssuerChanged", "the serving certificate was not signed by the active CA", true
	}
	return "", "", false
}

// LeafExpired: the certificate is no longer valid.
func LeafExpired(in LeafInput) (string, string, bool) {
	if !in.Now.Before(in.Cert.NotAfter) {
		return "Expired", fmt.Sprintf("the serving certificate expired at %s", in.Cert.NotAfter.UTC().Format(time.RFC3339)), true
	}
	return "", "", false
}

// LeafRenewing: the renewal time has come.
func LeafRenewing(in LeafInput) (string, string, bool) {
	if at := RenewalTime(in.Cert.NotBefore, in.Cert.NotAfter); !in.Now.Before(at) {
		return "Renewing", fmt.Sprintf("the serving certificate's renewal time %s has come", at.UTC().Format(time.RFC3339)), true
	}
	return "", "", false
}

// LeafRotationRequested: an operator asked for a new certificate.
func LeafRotationRequested(in LeafInput) (string, string, bool) {
	if in.RotateRequested {
		return "RotationRequested", "an on-demand rotation was requested", true
	}
	return "", "", false
}
