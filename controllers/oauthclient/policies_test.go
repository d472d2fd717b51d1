package oauthclient

import (
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

func TestPolicies(t *testing.T) {
	issued := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakePassiveClock(issued)
	const hash = "spec-v1"
	tok := signToken(t, "k1", "team-a.c", []string{"mcp"}, []string{"mcp"}, issued, time.Hour)
	intact := func() Input {
		s := tokenSecretFor(tok, 3, hash)
		st, err := parseTokenSecret(s, "team-a.c")
		return Input{Secret: s, Token: st, ParseErr: err, SpecHash: hash, Keys: staticKeys{}, Now: clk.Now()}
	}
	edited := func(mutate func(in *Input)) Input {
		in := intact()
		mutate(&in)
		if in.Secret != nil {
			in.Token, in.ParseErr = parseTokenSecret(in.Secret, "team-a.c")
		}
		return in
	}
	tenMinutes := 10 * time.Minute

	cases := []struct {
		name       string
		in         Input
		wantReason string
	}{
		{"A fresh intact token is kept", intact(), ""},
		{"A missing Secret is issued", edited(func(in *Input) { in.Secret = nil }), scopegatev1alpha1.ReasonDoesNotExist},
		{"A changed spec hash re-issues", edited(func(in *Input) { in.SpecHash = "spec-v2" }), scopegatev1alpha1.ReasonSpecChanged},
		{"A Secret without a spec hash re-issues as a spec change", edited(func(in *Input) {
			delete(in.Secret.Annotations, scopegatev1alpha1.AnnotationTokenSpecHash)
		}), scopegatev1alpha1.ReasonSpecChanged},
		{"A deleted access_token key re-issues", edited(func(in *Input) { delete(in.Secret.Data, KeyAccessToken) }), scopegatev1alpha1.ReasonSecretMismatch},
		{"An edited access_token re-issues", edited(func(in *Input) { in.Secret.Data[KeyAccessToken] = []byte("not-a-jwt") }), scopegatev1alpha1.ReasonSecretMismatch},
		{"An edited scope key re-issues", edited(func(in *Input) { in.Secret.Data[KeyScope] = []byte("admin") }), scopegatev1alpha1.ReasonSecretMismatch},
		{"A token.json that disagrees with the keys re-issues", edited(func(in *Input) { in.Secret.Data[KeyTokenJSON] = []byte(`{}`) }), scopegatev1alpha1.ReasonSecretMismatch},
		{"An edited expires_at re-issues", edited(func(in *Input) { in.Secret.Data[KeyExpiresAt] = []byte("2099-01-01T00:00:00Z") }), scopegatev1alpha1.ReasonSecretMismatch},
		{"A removed revision annotation re-issues", edited(func(in *Input) {
			delete(in.Secret.Annotations, scopegatev1alpha1.AnnotationRevision)
		}), scopegatev1alpha1.ReasonSecretMismatch},
		{"Another client's token re-issues", edited(func(in *Input) {
			other := signToken(t, "k1", "team-b.x", []string{"mcp"}, []string{"mcp"}, issued, time.Hour)
			in.Secret = tokenSecretFor(other, 3, hash)
		}), scopegatev1alpha1.ReasonSecretMismatch},
		{"An edited client annotation re-issues", edited(func(in *Input) {
			in.Secret.Annotations[scopegatev1alpha1.AnnotationClient] = "team-b.x"
		}), scopegatev1alpha1.ReasonSecretMismatch},
		{"A revision below the recorded one re-issues", edited(func(in *Input) { in.Revision = 4 }), scopegatev1alpha1.ReasonSecretMismatch},
		{"A revision equal to the recorded one is kept", edited(func(in *Input) { in.Revision = 3 }), ""},
		{"A token signed by a retired key re-issues", edited(func(in *Input) { in.Keys = staticKeys{"k1": true} }), scopegatev1alpha1.ReasonSigningKeyRetired},
		{"A token of a still-current key is kept", edited(func(in *Input) { in.Keys = staticKeys{"k0": true} }), ""},
		{"An expired token re-issues", edited(func(in *Input) { in.Now = issued.Add(time.Hour) }), scopegatev1alpha1.ReasonExpired},
		{"A token at its renewal time re-issues", edited(func(in *Input) { in.Now = issued.Add(40 * time.Minute) }), scopegatev1alpha1.ReasonRenewing},
		{"A token a second before its renewal time is kept", edited(func(in *Input) { in.Now = issued.Add(40*time.Minute - time.Second) }), ""},
		{"renewBefore brings the renewal forward", edited(func(in *Input) {
			in.RenewBefore = &tenMinutes
			in.Now = issued.Add(50 * time.Minute)
		}), scopegatev1alpha1.ReasonRenewing},
		{"renewBefore also postpones the renewal", edited(func(in *Input) {
			in.RenewBefore = &tenMinutes
			in.Now = issued.Add(45 * time.Minute)
		}), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reason, message, reissue := Evaluate(DefaultPolicies(), c.in)
			if reason != c.wantReason || reissue != (c.wantReason != "") {
				t.Fatalf("Evaluate = (%q, %q, %v), want reason %q", reason, message, reissue, c.wantReason)
			}
			if reissue && message == "" {
				t.Fatal("a re-issue verdict has no message")
			}
		})
	}
}

func TestPolicyMessagesHoldNoToken(t *testing.T) {
	issued := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	tok := signToken(t, "k1", "team-a.c", []string{"mcp"}, []string{"mcp"}, issued, time.Hour)
	s := tokenSecretFor(tok, 1, "h")
	s.Data[KeyScope] = []byte("edited")
	st, err := parseTokenSecret(s, "team-a.c")
	_, message, _ := Evaluate(DefaultPolicies(), Input{Secret: s, Token: st, ParseErr: err, SpecHash: "h", Now: issued})
	for _, v := range s.Data {
		if len(v) > 8 && strings.Contains(message, string(v)) {
			t.Fatalf("message %q contains a Secret value", message)
		}
	}
}
