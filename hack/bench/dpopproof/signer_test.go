package dpopproof

import (
	"crypto/ecdsa"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/dpop"
	"github.com/scopegate/scopegate/internal/dpop/dpoptest"
)

const htu = "http://127.0.0.1:8443/api/bench/items"

func TestTheHookSignsAFreshProofThatTheGatewaysChecksAccept(t *testing.T) {
	s, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	v := dpop.NewVerifier(dpop.Options{})
	hook := s.Hook(htu)
	for i := range 3 {
		req, _ := http.NewRequest(http.MethodGet, htu, nil)
		req.Header.Set("Authorization", "DPoP the-token")
		if err := hook(req); err != nil {
			t.Fatal(err)
		}
		p, err := v.Verify(req.Header.Get("DPoP"), dpop.Request{Method: http.MethodGet, URL: htu, AccessToken: "the-token"})
		if err != nil {
			t.Fatalf("proof %d refused: %v", i, err)
		}
		if p.JKT != s.Thumbprint() || p.Alg != "ES256" {
			t.Fatalf("proof %d: jkt %s alg %s, want %s and ES256", i, p.JKT, p.Alg, s.Thumbprint())
		}
	}
}

func TestAProofIsRefusedForAnotherTokenMethodOrURLAndWhenReplayed(t *testing.T) {
	s, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  dpop.Request
	}{
		{"another token", dpop.Request{Method: http.MethodGet, URL: htu, AccessToken: "other"}},
		{"another method", dpop.Request{Method: http.MethodPost, URL: htu, AccessToken: "tok"}},
		{"another URL", dpop.Request{Method: http.MethodGet, URL: htu + "/x", AccessToken: "tok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.Proof(http.MethodGet, htu, "tok", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dpop.NewVerifier(dpop.Options{}).Verify(p, tc.req); !errors.Is(err, dpop.ErrInvalidProof) {
				t.Fatalf("verify: %v, want ErrInvalidProof", err)
			}
		})
	}
	t.Run("a replay", func(t *testing.T) {
		v := dpop.NewVerifier(dpop.Options{})
		p, _ := s.Proof(http.MethodPost, htu, "", time.Now())
		req := dpop.Request{Method: http.MethodPost, URL: htu}
		if _, err := v.Verify(p, req); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(p, req); !errors.Is(err, dpop.ErrInvalidProof) {
			t.Fatalf("replayed proof: %v, want ErrInvalidProof", err)
		}
	})
}

func TestAWrittenKeyReadsBackAsTheSameKey(t *testing.T) {
	s, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dpop.pem")
	if err := s.WriteKey(path); err != nil {
		t.Fatal(err)
	}
	r, err := ReadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Thumbprint() != s.Thumbprint() {
		t.Fatalf("thumbprint %s after reading, want %s", r.Thumbprint(), s.Thumbprint())
	}
}

func TestTheThumbprintIsRFC7638(t *testing.T) {
	k := dpoptest.NewES256(t)
	s, err := New(k.Private.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	if s.Thumbprint() != k.Thumbprint() {
		t.Fatalf("thumbprint %s, want %s", s.Thumbprint(), k.Thumbprint())
	}
}
