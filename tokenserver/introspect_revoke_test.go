package tokenserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/tokenserver/keys"
	"github.com/scopegate/scopegate/tokenserver/revocation"
)

func (f *fixture) issue(client string, scopes ...string) string {
	f.t.Helper()
	tok, err := f.srv.Issue(f.t.Context(), accesstoken.IssueRequest{ClientID: client, Scopes: scopes})
	if err != nil {
		f.t.Fatal(err)
	}
	return tok.Raw
}

func (f *fixture) introspect(token string) map[string]any {
	f.t.Helper()
	w := f.post(PathIntrospect, form("token", token), basic("team-b.beta", secretB))
	if w.Code != 200 || w.Header().Get("Cache-Control") != "no-store" {
		f.t.Fatalf("introspection: %d %s", w.Code, w.Body)
	}
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		f.t.Fatal(err)
	}
	return out
}

func TestIntrospection(t *testing.T) {
	cases := []struct {
		name   string
		token  func(f *fixture) string
		active bool
	}{
		{"a fresh token is active", func(f *fixture) string { return f.issue("team-a.alpha", "mcp") }, true},
		{"an expired token is inactive", func(f *fixture) string {
			raw := f.issue("team-a.alpha", "mcp")
			f.clock.Step(2 * time.Hour)
			return raw
		}, false},
		{"a token just past exp is inactive, though the gateway's clock-skew leeway would still accept it", func(f *fixture) string {
			raw := f.issue("team-a.alpha", "mcp")
			f.clock.Step(time.Hour + 10*time.Second)
			return raw
		}, false},
		{"a revoked token is inactive", func(f *fixture) string {
			raw := f.issue("team-a.alpha", "mcp")
			w := f.post(PathRevoke, form("token", raw, "token_type_hint", "access_token"), basic("team-a.alpha", secretA))
			if w.Code != 200 {
				f.t.Fatalf("revoke %d", w.Code)
			}
			return raw
		}, false},
		{"a token of a deleted client is inactive", func(f *fixture) string {
			raw := f.issue("team-a.alpha", "mcp")
			f.reg.Delete("team-a.alpha")
			return raw
		}, false},
		{"a token of a suspended client is inactive", func(f *fixture) string {
			raw := f.issue("team-a.alpha", "mcp")
			c, _ := f.reg.Get("team-a.alpha")
			cp := *c
			cp.Suspended = true
			f.reg.Upsert(&cp)
			return raw
		}, false},
		{"a token from another issuer is inactive", func(f *fixture) string {
			other := newFixture(f.t, func(o *Options) { o.Issuer = "https://evil.example.test"; o.Keys = f.ring })
			return other.issue("team-a.alpha", "mcp")
		}, false},
		{"a token signed by an unknown key is inactive", func(f *fixture) string {
			return newFixture(f.t).issue("team-a.alpha", "mcp")
		}, false},
		{"a token with a tampered payload is inactive", func(f *fixture) string {
			raw := []byte(f.issue("team-a.alpha", "mcp"))
			raw[len(raw)-5] ^= 1
			return string(raw)
		}, false},
		{"garbage is inactive", func(f *fixture) string { return "not-a-jwt" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			got := f.introspect(tc.token(f))
			if got["active"] != tc.active {
				t.Fatalf("active %v, want %v", got["active"], tc.active)
			}
			if !tc.active && len(got) != 1 {
				t.Errorf("an inactive answer says more than active: %v", got)
			}
			if tc.active && (got["client_id"] != "team-a.alpha" || got["scope"] != "mcp" || got["jti"] == nil || got["username"] != "client:team-a.alpha") {
				t.Errorf("claims %v", got)
			}
		})
	}
}

func TestIntrospectionRequiresClientAuthentication(t *testing.T) {
	f := newFixture(t)
	w := f.post(PathIntrospect, form("token", f.issue("team-a.alpha", "mcp")), basic("team-b.beta", "wrong"))
	if w.Code != 401 || w.Header().Get("WWW-Authenticate") == "" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d headers %v", w.Code, w.Header())
	}
}

func TestRevocation(t *testing.T) {
	t.Run("another client cannot revoke a token, yet is answered 200", func(t *testing.T) {
		f := newFixture(t)
		raw := f.issue("team-a.alpha", "mcp")
		w := f.post(PathRevoke, form("token", raw), basic("team-b.beta", secretB))
		if w.Code != 200 || w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("status %d", w.Code)
		}
		if f.introspect(raw)["active"] != true {
			t.Errorf("another client revoked the token")
		}
	})
	t.Run("unknown and garbage tokens answer 200", func(t *testing.T) {
		f := newFixture(t)
		for _, tok := range []string{"garbage", newFixture(t).issue("team-a.alpha", "mcp")} {
			if w := f.post(PathRevoke, form("token", tok, "token_type_hint", "refresh_token"), basic("team-a.alpha", secretA)); w.Code != 200 {
				t.Errorf("status %d", w.Code)
			}
		}
		if f.revs.Len() != 0 {
			t.Errorf("%d revocations stored", f.revs.Len())
		}
	})
	t.Run("revocation requires client authentication", func(t *testing.T) {
		f := newFixture(t)
		w := f.post(PathRevoke, form("token", f.issue("team-a.alpha", "mcp")), nil)
		if w.Code != 401 {
			t.Fatalf("status %d", w.Code)
		}
	})
	t.Run("a missing token is invalid_request", func(t *testing.T) {
		f := newFixture(t)
		if w := f.post(PathRevoke, form(), basic("team-a.alpha", secretA)); w.Code != 400 {
			t.Fatalf("status %d", w.Code)
		}
	})
	t.Run("a cached token is refused as soon as it is revoked", func(t *testing.T) {
		f := newFixture(t)
		raw := f.issue("team-a.alpha", "mcp")
		if _, err := f.srv.Verify(t.Context(), raw); err != nil {
			t.Fatal(err)
		}
		f.post(PathRevoke, form("token", raw), basic("team-a.alpha", secretA))
		if _, err := f.srv.Verify(t.Context(), raw); err == nil {
			t.Fatal("revoked token verified from the cache")
		}
	})
}

// flakyStore records a revocation in memory at once, as revocation.Cluster
// does, but fails to persist it while failing is set.
type flakyStore struct {
	mem       *revocation.Memory
	failing   bool
	persisted []string
}

func (s *flakyStore) Revoke(ctx context.Context, jti string, exp time.Time) error {
	_ = s.mem.Revoke(ctx, jti, exp)
	if s.failing {
		return errors.New("API server unavailable")
	}
	s.persisted = append(s.persisted, jti)
	return nil
}

func (s *flakyStore) Revoked(jti string) bool { return s.mem.Revoked(jti) }

func TestARevocationThatFailedToPersistIsStoredOnRetry(t *testing.T) {
	store := &flakyStore{failing: true}
	f := newFixture(t, func(o *Options) {
		store.mem = revocation.NewMemory(o.Now)
		o.Revocations = store
	})
	raw := f.issue("team-a.alpha", "mcp")
	if w := f.post(PathRevoke, form("token", raw), basic("team-a.alpha", secretA)); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("first attempt: status %d, want 503", w.Code)
	}
	store.failing = false
	if w := f.post(PathRevoke, form("token", raw), basic("team-a.alpha", secretA)); w.Code != http.StatusOK {
		t.Fatalf("retry: status %d", w.Code)
	}
	if len(store.persisted) != 1 {
		t.Fatalf("the retry answered 200 without storing the revocation in the cluster (%d stored): other replicas would keep accepting the token", len(store.persisted))
	}
}

func TestRevocationsPerClientAreRateLimited(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RevocationRate, o.RevocationBurst = 1, 2 })
	tokens := []string{f.issue("team-a.alpha", "mcp"), f.issue("team-a.alpha", "mcp"), f.issue("team-a.alpha", "mcp")}
	for _, raw := range tokens[:2] {
		if w := f.post(PathRevoke, form("token", raw), basic("team-a.alpha", secretA)); w.Code != 200 {
			t.Fatalf("revocation within the burst: status %d", w.Code)
		}
	}
	t.Log("revoking a token already revoked stores nothing new, so it is not limited")
	if w := f.post(PathRevoke, form("token", tokens[0]), basic("team-a.alpha", secretA)); w.Code != 200 {
		t.Fatalf("repeat revocation: status %d", w.Code)
	}
	w := f.post(PathRevoke, form("token", tokens[2]), basic("team-a.alpha", secretA))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), "temporarily_unavailable") {
		t.Fatalf("a revocation past the burst: status %d, Retry-After %q, body %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if f.introspect(tokens[2])["active"] != true || f.revs.Len() != 2 {
		t.Fatalf("a refused revocation must store nothing: %d stored", f.revs.Len())
	}
	t.Log("another client has its own bucket, and the bucket refills")
	if w := f.post(PathRevoke, form("token", f.issue("team-b.beta", "service")), basic("team-b.beta", secretB)); w.Code != 200 {
		t.Fatalf("another client: status %d", w.Code)
	}
	f.clock.Step(time.Second)
	if w := f.post(PathRevoke, form("token", tokens[2]), basic("team-a.alpha", secretA)); w.Code != 200 || f.introspect(tokens[2])["active"] != false {
		t.Fatalf("after the refill: status %d", w.Code)
	}
}

// hangingStore never confirms a write, as a frozen API server: Revoke
// returns only when its context ends.
type hangingStore struct{ mem *revocation.Memory }

func (s *hangingStore) Revoke(ctx context.Context, jti string, exp time.Time) error {
	<-ctx.Done()
	return ctx.Err()
}

func (s *hangingStore) Revoked(jti string) bool { return s.mem.Revoked(jti) }

func TestARevocationTheAPIServerDoesNotConfirmAnswers503WithinTheWriteTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	f := newFixture(t, func(o *Options) {
		o.Revocations = &hangingStore{mem: revocation.NewMemory(o.Now)}
		o.WriteTimeout = timeout
	})
	raw := f.issue("team-a.alpha", "mcp")
	start := time.Now()
	w := f.post(PathRevoke, form("token", raw), basic("team-a.alpha", secretA))
	if took := time.Since(start); took > 20*timeout {
		t.Errorf("revocation answered after %s, want about the write timeout %s", took, timeout)
	}
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: the revocation was not stored", w.Code)
	}
	if n, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || n <= 0 {
		t.Errorf("Retry-After %q, want a number of seconds", w.Header().Get("Retry-After"))
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error != ErrCodeTemporarilyUnavailable {
		t.Errorf("body %s (%v), want error %q", w.Body, err, ErrCodeTemporarilyUnavailable)
	}
}

func TestTheWriteTimeoutDefaultsToThreeSeconds(t *testing.T) {
	o, err := Options{Issuer: testIssuer, Registry: registry.New(), Keys: keys.NewRing(keys.Policy{}, nil), Revocations: revocation.NewMemory(nil)}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.WriteTimeout != 3*time.Second {
		t.Errorf("WriteTimeout %s, want 3s", o.WriteTimeout)
	}
}
