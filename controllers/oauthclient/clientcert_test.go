package oauthclient

import (
	"bytes"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/servingcert"
)

// fakeCA signs client certificates valid for an hour from now, with ca.
type fakeCA struct {
	ca  servingcert.CA
	now func() time.Time
	err error
}

func (f *fakeCA) IssueClientCertificate(clientID, uid string) ([]byte, []byte, error) {
	if f.err != nil {
		return nil, nil, f.err
	}
	leaf, err := servingcert.IssueClientLeaf(f.ca, clientID, uid, f.now(), time.Hour)
	return leaf.CertPEM, leaf.KeyPEM, err
}

// fixedBundle is a CABundle that never changes.
type fixedBundle []byte

func (b fixedBundle) Bundle() []byte           { return b }
func (fixedBundle) Subscribe() <-chan struct{} { return nil }

func TestConvergeClientCert(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	newCA := func(t *testing.T) servingcert.CA {
		ca, err := servingcert.GenerateCA(now.Add(-time.Hour), now.Add(-time.Hour), 48*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return ca
	}
	ca := newCA(t)
	issuer := &fakeCA{ca: ca, now: clock}
	opts := &Options{Issuer: testIssuer, ClientCerts: issuer, CABundle: fixedBundle(servingcert.EncodeCerts(ca.Cert))}
	if err := opts.complete(); err != nil {
		t.Fatal(err)
	}
	withCert := newClient(func(c *scopegatev1alpha1.OAuthClient) {
		c.UID = "uid-1"
		c.Spec.TokenSecret = nil
		c.Spec.TLSClientAuth = true
	})
	issued := func(t *testing.T) *corev1.Secret {
		t.Helper()
		s := &corev1.Secret{Data: map[string][]byte{}}
		changed, renewAt, err := convergeClientCert(s, withCert, opts, now)
		if err != nil || !changed {
			t.Fatalf("changed %v, err %v", changed, err)
		}
		if want := now.Add(-time.Minute).Add((time.Hour + time.Minute) * 2 / 3); !renewAt.Equal(want) {
			t.Errorf("renewal at %v, want %v (two thirds of the lifetime)", renewAt, want)
		}
		return s
	}

	t.Run("A client with tlsClientAuth gets a certificate naming its UID", func(t *testing.T) {
		s := issued(t)
		certs, err := servingcert.ParseCerts(s.Data[KeyTLSCert])
		if err != nil {
			t.Fatal(err)
		}
		if got := servingcert.ClientUID(certs[0]); got != "uid-1" {
			t.Errorf("the certificate names UID %q", got)
		}
		if certs[0].Subject.CommonName != "team-a.c" {
			t.Errorf("common name %q, want the client_id", certs[0].Subject.CommonName)
		}
		if len(s.Data[KeyTLSKey]) == 0 {
			t.Error("no tls.key")
		}
	})
	t.Run("A current certificate is kept", func(t *testing.T) {
		s := issued(t)
		before := bytes.Clone(s.Data[KeyTLSCert])
		changed, _, err := convergeClientCert(s, withCert, opts, now.Add(30*time.Minute))
		if err != nil || changed || !bytes.Equal(before, s.Data[KeyTLSCert]) {
			t.Errorf("changed %v, err %v", changed, err)
		}
	})
	reissued := []struct {
		name   string
		mutate func(*corev1.Secret)
		at     time.Time
		o      *Options
	}{
		{name: "A certificate past two thirds of its lifetime is renewed", at: now.Add(41 * time.Minute)},
		{name: "A certificate whose key was replaced is re-issued", mutate: func(s *corev1.Secret) { s.Data[KeyTLSKey] = issued(t).Data[KeyTLSKey] }},
		{name: "A certificate naming another UID is re-issued", mutate: func(s *corev1.Secret) {
			other := newClient(func(c *scopegatev1alpha1.OAuthClient) { c.UID = "uid-2"; c.Spec.TLSClientAuth = true })
			if _, _, err := convergeClientCert(s, other, opts, now); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "A certificate whose CA left the bundle is re-issued", o: &Options{Issuer: testIssuer, ClientCerts: issuer, CABundle: fixedBundle(servingcert.EncodeCerts(newCA(t).Cert))}},
	}
	for _, tc := range reissued {
		t.Run(tc.name, func(t *testing.T) {
			s := issued(t)
			if tc.mutate != nil {
				tc.mutate(s)
			}
			before := bytes.Clone(s.Data[KeyTLSCert])
			at, o := tc.at, tc.o
			if at.IsZero() {
				at = now
			}
			if o == nil {
				o = opts
			}
			changed, _, err := convergeClientCert(s, withCert, o, at)
			if err != nil || !changed || bytes.Equal(before, s.Data[KeyTLSCert]) {
				t.Errorf("changed %v, err %v", changed, err)
			}
		})
	}
	t.Run("Turning tlsClientAuth off removes the certificate and its key", func(t *testing.T) {
		s := issued(t)
		off := withCert.DeepCopy()
		off.Spec.TLSClientAuth = false
		changed, _, err := convergeClientCert(s, off, opts, now)
		_, hasCert := s.Data[KeyTLSCert]
		_, hasKey := s.Data[KeyTLSKey]
		if err != nil || !changed || hasCert || hasKey {
			t.Errorf("changed %v, err %v, tls.crt %v, tls.key %v", changed, err, hasCert, hasKey)
		}
	})
	t.Run("Without an issuer (TLS not in auto mode) no certificate is written", func(t *testing.T) {
		s := &corev1.Secret{Data: map[string][]byte{}}
		changed, _, err := convergeClientCert(s, withCert, &Options{}, now)
		if err != nil || changed || len(s.Data) != 0 {
			t.Errorf("changed %v, err %v, data %v", changed, err, s.Data)
		}
	})
	t.Run("An issuer that cannot sign yet is an error, to be retried", func(t *testing.T) {
		o := &Options{Issuer: testIssuer, ClientCerts: &fakeCA{err: servingcert.ErrNoClientCA}}
		_, _, err := convergeClientCert(&corev1.Secret{Data: map[string][]byte{}}, withCert, o, now)
		if !errors.Is(err, servingcert.ErrNoClientCA) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("The credentials Secret of a tlsClientAuth client holds the certificate", func(t *testing.T) {
		s := &corev1.Secret{}
		ch, err := convergeCredentials(s, withCert, opts, now)
		if err != nil || !ch.ClientCert || ch.ClientCertRenewAt.IsZero() || len(s.Data[KeyTLSCert]) == 0 {
			t.Errorf("change %+v, err %v", ch, err)
		}
	})
}
