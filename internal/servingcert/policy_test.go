package servingcert

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestRenewalTimeIsTwoThirdsOfTheLifetime(t *testing.T) {
	for _, tc := range []struct {
		name                string
		notBefore, notAfter time.Time
		want                time.Time
	}{
		{"a 90-day certificate renews after 60 days", t0, t0.Add(90 * 24 * time.Hour), t0.Add(60 * 24 * time.Hour)},
		{"a one-year CA renews after 243 days and 8 hours", t0, t0.Add(365 * 24 * time.Hour), t0.Add(243*24*time.Hour + 8*time.Hour)},
		{"a 3-minute certificate renews after 2 minutes", t0, t0.Add(3 * time.Minute), t0.Add(2 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RenewalTime(tc.notBefore, tc.notAfter); !got.Equal(tc.want) {
				t.Errorf("RenewalTime = %s, want %s", got, tc.want)
			}
		})
	}
}

// fakeCAs generates real CAs (cheap with P-256) and counts them.
type fakeCAs struct{ n int }

func (f *fakeCAs) gen(now, activateAt time.Time, lifetime time.Duration) (CA, error) {
	f.n++
	return GenerateCA(now, activateAt, lifetime)
}

func TestPlanCAs(t *testing.T) {
	p := CAPolicy{Lifetime: 300 * time.Hour, Overlap: 10 * time.Hour}
	g := &fakeCAs{}
	first, err := GenerateCA(t0, t0, p.Lifetime)
	if err != nil {
		t.Fatal(err)
	}
	second, err := GenerateCA(t0.Add(200*time.Hour), t0.Add(210*time.Hour), p.Lifetime)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		old       []CA
		at        time.Duration // since t0
		rotateNow bool
		// wantActivations are the CAs' ActivateAt after the plan, as
		// offsets from t0 (a new CA: at + its delay).
		wantActivations []time.Duration
		wantChanged     bool
		wantActive      time.Duration
	}{
		{name: "An empty set gets a CA that signs at once", at: 0, wantActivations: []time.Duration{0}, wantChanged: true, wantActive: 0},
		{name: "Nothing changes before the renewal time", old: []CA{first}, at: 199 * time.Hour, wantActivations: []time.Duration{0}, wantActive: 0},
		{name: "At 2/3 of the lifetime a new CA is published that signs one overlap later", old: []CA{first}, at: 200 * time.Hour,
			wantActivations: []time.Duration{0, 210 * time.Hour}, wantChanged: true, wantActive: 0},
		{name: "During the overlap both are kept and the old one signs", old: []CA{first, second}, at: 205 * time.Hour,
			wantActivations: []time.Duration{0, 210 * time.Hour}, wantActive: 0},
		{name: "After the overlap the new CA signs and the old one is still published", old: []CA{first, second}, at: 211 * time.Hour,
			wantActivations: []time.Duration{0, 210 * time.Hour}, wantActive: 210 * time.Hour},
		{name: "One overlap after the new CA signs, the old one is dropped", old: []CA{first, second}, at: 220 * time.Hour,
			wantActivations: []time.Duration{210 * time.Hour}, wantChanged: true, wantActive: 210 * time.Hour},
		{name: "An on-demand rotation publishes a new CA that signs one overlap later", old: []CA{first}, at: 50 * time.Hour, rotateNow: true,
			wantActivations: []time.Duration{0, 60 * time.Hour}, wantChanged: true, wantActive: 0},
		{name: "An on-demand rotation replaces a pending CA", old: []CA{first, second}, at: 205 * time.Hour, rotateNow: true,
			wantActivations: []time.Duration{0, 215 * time.Hour}, wantChanged: true, wantActive: 0},
		{name: "An expired set is replaced by a CA that signs at once", old: []CA{first}, at: 301 * time.Hour,
			wantActivations: []time.Duration{301 * time.Hour}, wantChanged: true, wantActive: 301 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := testingclock.NewFakePassiveClock(t0.Add(tc.at))
			got, changed, why, err := PlanCAs(tc.old, clk.Now(), p, tc.rotateNow, g.gen)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tc.wantChanged {
				t.Errorf("changed = %v (%q), want %v", changed, why, tc.wantChanged)
			}
			if changed && why == "" {
				t.Errorf("a change must say why")
			}
			var acts []time.Duration
			for _, c := range got {
				acts = append(acts, c.ActivateAt.Sub(t0))
			}
			if len(acts) != len(tc.wantActivations) {
				t.Fatalf("activations %v, want %v", acts, tc.wantActivations)
			}
			for i := range acts {
				if acts[i] != tc.wantActivations[i] {
					t.Errorf("activations %v, want %v", acts, tc.wantActivations)
				}
			}
			active, ok := Active(got, clk.Now())
			if !ok || active.ActivateAt.Sub(t0) != tc.wantActive {
				t.Errorf("active CA activates at %v (found %v), want %v", active.ActivateAt.Sub(t0), ok, tc.wantActive)
			}
			certs, err := ParseCerts(Bundle(got))
			if err != nil || len(certs) != len(got) {
				t.Errorf("bundle holds %d certificates (%v), want %d", len(certs), err, len(got))
			}
		})
	}
}

func TestLeafPolicies(t *testing.T) {
	ca, err := GenerateCA(t0, t0, 1000*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateCA(t0, t0, 1000*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"scopegate.scopegate-system.svc", "localhost", "127.0.0.1"}
	leaf := func(signer CA, names []string, lifetime time.Duration) *x509.Certificate {
		l, err := IssueLeaf(signer, names, t0, lifetime)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ParseCerts(l.CertPEM)
		if err != nil {
			t.Fatal(err)
		}
		return c[0]
	}
	good := leaf(ca, names, 90*time.Hour)
	for _, tc := range []struct {
		name       string
		in         LeafInput
		wantReason string
	}{
		{"A missing certificate is issued", LeafInput{}, "DoesNotExist"},
		{"An unreadable certificate is re-issued", LeafInput{ParseErr: errString("bad PEM")}, "Unreadable"},
		{"A key that does not match is re-issued", LeafInput{Cert: good}, "KeyMismatch"},
		{"A certificate for other names is re-issued", LeafInput{Cert: leaf(ca, []string{"localhost"}, 90*time.Hour), KeyMatches: true}, "NamesChanged"},
		{"A certificate of another CA is re-issued", LeafInput{Cert: leaf(other, names, 90*time.Hour), KeyMatches: true}, "IssuerChanged"},
		{"A certificate is kept before 2/3 of its lifetime", LeafInput{Cert: good, KeyMatches: true, Now: t0.Add(59 * time.Hour)}, ""},
		{"A certificate is renewed at 2/3 of its lifetime", LeafInput{Cert: good, KeyMatches: true, Now: t0.Add(60 * time.Hour)}, "Renewing"},
		{"An expired certificate is re-issued", LeafInput{Cert: good, KeyMatches: true, Now: t0.Add(91 * time.Hour)}, "Expired"},
		{"An on-demand rotation re-issues a valid certificate", LeafInput{Cert: good, KeyMatches: true, Now: t0.Add(time.Hour), RotateRequested: true}, "RotationRequested"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Names, in.Active = names, ca
			if in.Now.IsZero() {
				in.Now = t0.Add(time.Hour)
			}
			reason, msg, reissue := EvaluateLeaf(DefaultLeafPolicies(), in)
			if reason != tc.wantReason || reissue != (tc.wantReason != "") {
				t.Errorf("EvaluateLeaf = %q (%q), %v; want %q", reason, msg, reissue, tc.wantReason)
			}
		})
	}
}

func TestIssuedLeafVerifiesAgainstTheBundleForEveryName(t *testing.T) {
	ca, err := GenerateCA(t0, t0, 1000*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	l, err := IssueLeaf(ca, []string{"scopegate.scopegate-system.svc", "127.0.0.1"}, t0, 2000*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := ParseCerts(l.CertPEM)
	if !c[0].NotAfter.Equal(ca.NotAfter()) {
		t.Errorf("leaf NotAfter %s outlives its CA %s", c[0].NotAfter, ca.NotAfter())
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(Bundle([]CA{ca}))
	for _, name := range []string{"scopegate.scopegate-system.svc", "127.0.0.1"} {
		if _, err := c[0].Verify(x509.VerifyOptions{Roots: pool, DNSName: name, CurrentTime: t0.Add(time.Hour)}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := c[0].Verify(x509.VerifyOptions{Roots: pool, DNSName: "evil.example.com", CurrentTime: t0.Add(time.Hour)}); err == nil || !strings.Contains(err.Error(), "evil") {
		t.Errorf("a foreign name verified: %v", err)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
